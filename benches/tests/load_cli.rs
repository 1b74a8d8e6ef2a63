//! The `shardio-load` binary: `--json`, `--hgrm` in HdrHistogram's format, the
//! progress line and `--quiet`, and clear refusals of settings that cannot work.

mod util;

use std::process::Command;
use util::{Answer, Server};

fn load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shardio-load"))
}

#[test]
fn json_report_and_hgrm_file() {
    let server = Server::start(|_| Answer::Ok, None);
    let dir = std::env::temp_dir().join(format!("shardio-load-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hgrm = dir.join("latency.hgrm");
    let out = load()
        .args([
            &server.url(),
            "-c",
            "4",
            "-d",
            "300ms",
            "--warmup",
            "100ms",
            "--shards",
            "2",
            "--json",
            "--hgrm",
        ])
        .arg(&hgrm)
        .args(["-H", "X-Test: 1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["mode"], "closed");
    assert_eq!(report["connections"], 4);
    assert_eq!(report["shards"], 2);
    let responses = report["responses"].as_u64().unwrap();
    assert!(responses > 0);
    assert_eq!(report["statuses"]["200"].as_u64(), Some(responses));
    let p = &report["latency_us"]["percentiles"];
    let (p50, p99, max) = (
        p["p50"].as_f64().unwrap(),
        p["p99"].as_f64().unwrap(),
        p["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{p}");

    let text = std::fs::read_to_string(&hgrm).unwrap();
    let mut lines = text.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    );
    let rows: Vec<Vec<f64>> = lines
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(|f| f.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() > 10);
    assert!(rows
        .windows(2)
        .all(|w| w[0][0] <= w[1][0] && w[0][1] <= w[1][1] && w[0][2] <= w[1][2]));
    let last = rows.last().unwrap();
    assert_eq!(last[1], 1.0);
    assert_eq!(last[2] as u64, responses);
    assert!(text.contains("#[Mean    ="), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn impossible_settings_are_refused_by_name() {
    for (args, says) in [
        (
            vec!["http://127.0.0.1:9/", "--rate", "100", "--pipeline", "4"],
            "pipelining is for the closed loop",
        ),
        (vec!["https://127.0.0.1:9/"], "only http://"),
        (
            vec!["http://127.0.0.1:9/", "-H", "no colon"],
            "is not `Name: value`",
        ),
        (vec!["http://127.0.0.1:9/", "-d", "ten"], "invalid value"),
        (
            vec!["http://127.0.0.1:9/", "--body-file", "/nonexistent/body"],
            "/nonexistent/body",
        ),
    ] {
        let out = load().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn progress_line_unless_quiet() {
    let server = Server::start(|_| Answer::Ok, None);
    let run = |quiet: bool| {
        let mut cmd = load();
        cmd.args([&server.url(), "-c", "2", "-d", "1500ms"]);
        if quiet {
            cmd.arg("--quiet");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let live = run(false);
    assert!(live.contains("req/s") && live.contains("p99"), "{live:?}");
    assert!(!run(true).contains("req/s"));
}
