//! HTML directory listings (off by default): names escaped for HTML, links
//! percent-encoded, directories first.
//!
//! The directory is read through (a duplicate of) the fd the open-file
//! cache holds, so the listing shows exactly the directory that was opened
//! beneath the root. [`render`] makes plain system calls that may wait for
//! the disk, so `StaticFiles` runs it on the blocking pool
//! ([`shardio::spawn_blocking`]), never on the shard.

use super::path::SEGMENT;
use std::fmt::Write;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::time::SystemTime;

struct Item {
    name: String,
    dir: bool,
    size: Option<u64>,
    modified: Option<SystemTime>,
}

/// The listing of `dir`, shown as `url_path`; hidden entries only when
/// `hidden`.
pub(crate) fn render(dir: &File, url_path: &str, hidden: bool) -> io::Result<String> {
    let entries = std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))?;
    let mut items = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && !hidden {
            continue;
        }
        // Metadata of the entry itself: a symlink is shown, not followed.
        let meta = entry.metadata().ok();
        let dir = meta.as_ref().is_some_and(|m| m.is_dir());
        items.push(Item {
            name,
            dir,
            size: meta.as_ref().filter(|m| m.is_file()).map(|m| m.len()),
            modified: meta.and_then(|m| m.modified().ok()),
        });
    }
    items.sort_by(|a, b| b.dir.cmp(&a.dir).then_with(|| a.name.cmp(&b.name)));

    let title = escape(url_path);
    let mut html = String::with_capacity(512 + items.len() * 128);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
         </head>\n<body><h1>Index of {title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n"
    );
    if url_path != "/" {
        html.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for item in &items {
        let slash = if item.dir { "/" } else { "" };
        let href: String = percent_encoding::utf8_percent_encode(&item.name, SEGMENT).collect();
        let size = item.size.map(|n| n.to_string()).unwrap_or_default();
        let modified = item
            .modified
            .map(httpdate::fmt_http_date)
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<tr><td><a href=\"{href}{slash}\">{}{slash}</a></td><td>{size}</td><td>{modified}</td></tr>",
            escape(&item.name)
        );
    }
    html.push_str("</table>\n</body></html>\n");
    Ok(html)
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
