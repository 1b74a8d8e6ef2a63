//! Status codes and their reason phrases (RFC 9110 §15).

/// The reason phrase for `status`: those of RFC 9110 §15 and of the other
/// registered codes a server sends (103, 425, 428, 429, 431, 451, 511), or
/// `""` for any other code (the phrase is optional on the wire, RFC 9112
/// §4).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// Whether a response with `status` carries no body and no length
/// (1xx and 204, RFC 9110 §8.6), or keeps its length but sends no body (304).
pub(crate) fn has_body(status: u16) -> bool {
    !(100..200).contains(&status) && status != 204 && status != 304
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn registered_codes_have_their_phrases_and_others_none() {
        for (status, phrase) in [
            (101, "Switching Protocols"),
            (103, "Early Hints"),
            (204, "No Content"),
            (308, "Permanent Redirect"),
            (410, "Gone"),
            (421, "Misdirected Request"),
            (426, "Upgrade Required"),
            (451, "Unavailable For Legal Reasons"),
            (511, "Network Authentication Required"),
        ] {
            assert_eq!(reason(status), phrase, "{status}");
        }
        for status in [102, 299, 418, 499, 599, 999] {
            assert_eq!(reason(status), "", "{status}");
        }
    }
}
