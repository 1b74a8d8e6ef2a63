//! Shared helpers for shardio's benches.

use std::str::FromStr;

/// The command line of a bench tool: a command word, then `--name value`
/// flags. Anything malformed calls the tool's `usage`, which exits.
#[derive(Debug)]
pub struct Flags {
    args: Vec<String>,
    usage: fn() -> !,
}

impl Flags {
    /// The process's arguments (without the program name).
    pub fn from_env(usage: fn() -> !) -> Flags {
        Flags {
            args: std::env::args().skip(1).collect(),
            usage,
        }
    }

    /// The first argument: the command word.
    pub fn command(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }

    /// The value after `name`, if `name` is given.
    pub fn value(&self, name: &str) -> Option<String> {
        let i = self.args.iter().position(|a| a == name)?;
        Some(
            self.args
                .get(i + 1)
                .cloned()
                .unwrap_or_else(|| (self.usage)()),
        )
    }

    /// Whether the switch `name` (a flag without a value) is given.
    pub fn has(&self, name: &str) -> bool {
        self.args.iter().any(|a| a == name)
    }

    /// The value after `name` parsed as `T`, or `default` if not given.
    pub fn parse<T: FromStr>(&self, name: &str, default: T) -> T {
        match self.value(name) {
            Some(v) => v.parse().unwrap_or_else(|_| (self.usage)()),
            None => default,
        }
    }
}
pub mod load;
