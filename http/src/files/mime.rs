//! `Content-Type` from a file name's extension (the `mime_guess` table),
//! with `charset=utf-8` for text types.

use std::cell::RefCell;
use std::collections::HashMap;

/// For names the table does not know.
pub(crate) const DEFAULT: &str = "application/octet-stream";

/// The content type for the file at `path`.
pub(crate) fn content_type(path: &str) -> &'static str {
    let Some(essence) = mime_guess::from_path(path).first_raw() else {
        return DEFAULT;
    };
    if !is_text(essence) {
        return essence;
    }
    thread_local! {
        /// One string per text type in the (finite, static) table, made
        /// once and kept for the life of the process.
        static WITH_CHARSET: RefCell<HashMap<&'static str, &'static str>> =
            RefCell::new(HashMap::new());
    }
    WITH_CHARSET.with(|m| {
        *m.borrow_mut()
            .entry(essence)
            .or_insert_with(|| Box::leak(format!("{essence}; charset=utf-8").into_boxed_str()))
    })
}

fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        )
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn table() {
        assert_eq!(content_type("a/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("data.json"), "application/json; charset=utf-8");
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(content_type("x.wasm"), "application/wasm");
        assert_eq!(content_type("README"), "application/octet-stream");
        assert_eq!(
            content_type("archive.unknownext"),
            "application/octet-stream"
        );
    }
}
