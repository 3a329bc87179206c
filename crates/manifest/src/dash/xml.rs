//! A tiny XML writer: elements with attributes, escaping attribute values.

use std::fmt::Write as _;

/// Builds indented XML text.
pub struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    /// Starts a document with the XML declaration.
    pub fn new() -> Self {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            depth: 0,
        }
    }

    /// Opens `<name a="v" …>`; `close` makes it self-closing.
    pub fn open(&mut self, name: &str, attrs: &[(&str, String)], close: bool) {
        self.indent();
        let _ = write!(self.out, "<{name}");
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        if close {
            self.out.push_str("/>\n");
        } else {
            self.out.push_str(">\n");
            self.depth += 1;
        }
    }

    /// Closes the innermost open element `name`.
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
}

/// Escapes `&`, `<`, `>` and `"` for an attribute value.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_escaped_elements() {
        let mut x = Xml::new();
        x.open("A", &[("k", "a&\"b".into())], false);
        x.open("B", &[], true);
        x.close("A");
        assert_eq!(
            x.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A k=\"a&amp;&quot;b\">\n  <B/>\n</A>\n"
        );
    }
}
