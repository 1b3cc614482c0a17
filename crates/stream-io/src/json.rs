//! [`JsonArrayStream`]: the elements of a top-level JSON array, one at a time.

use std::io::{BufRead, BufReader, Read};
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Default limit on one element's size: 64 MiB.
const DEFAULT_MAX_ELEMENT_BYTES: usize = 64 * 1024 * 1024;

/// Iterates the elements of a top-level JSON array (RFC 8259) read from `R`, deserializing each
/// into `T` with serde, without holding more than one element in memory.
///
/// How: a small scanner finds where each element ends (tracking strings, escapes and nesting),
/// copies that element's bytes into a reused buffer and hands them to `serde_json::from_slice`.
/// Memory: the reader's 64 KiB buffer plus the largest element. Every byte is scanned twice
/// (scanner, then serde_json).
///
/// Items are `Result<T>`; after the first error the iterator ends. Errors: [`Error::Read`],
/// [`Error::JsonSyntax`] (not an array, bad separator, truncated input, trailing data),
/// [`Error::JsonElement`] (valid JSON that `T` rejects, or a malformed scalar),
/// [`Error::JsonElementTooLarge`].
#[derive(Debug)]
pub struct JsonArrayStream<T, R> {
    reader: BufReader<R>,
    /// Bytes consumed from the reader so far.
    offset: u64,
    index: u64,
    state: State,
    element: Vec<u8>,
    max_element_bytes: usize,
    _marker: PhantomData<fn() -> T>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[`: an element or `]` comes next.
    First,
    /// After an element: `,` or `]` comes next.
    Between,
    /// Done or failed.
    Finished,
}

impl<T: DeserializeOwned, R: Read> JsonArrayStream<T, R> {
    /// Streams the array read from `reader` (wrapped in a 64 KiB `BufReader`).
    pub fn new(reader: R) -> Self {
        JsonArrayStream {
            reader: BufReader::with_capacity(64 * 1024, reader),
            offset: 0,
            index: 0,
            state: State::Start,
            element: Vec::new(),
            max_element_bytes: DEFAULT_MAX_ELEMENT_BYTES,
            _marker: PhantomData,
        }
    }

    /// Sets the largest element accepted, in bytes (default 64 MiB).
    pub fn max_element_bytes(mut self, limit: usize) -> Self {
        self.max_element_bytes = limit;
        self
    }

    fn syntax(&mut self, reason: &'static str) -> Error {
        self.state = State::Finished;
        Error::JsonSyntax {
            offset: self.offset,
            reason,
        }
    }

    /// Fills the reader's buffer (retrying on `Interrupted`); the bytes are then in
    /// `self.reader.buffer()`, empty at the end of input. A read error finishes the stream.
    fn fill(&mut self) -> Result<()> {
        loop {
            match self.reader.fill_buf() {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    self.state = State::Finished;
                    return Err(Error::Read {
                        offset: self.offset,
                        source,
                    });
                }
            }
        }
    }

    /// Skips whitespace and returns the next byte without consuming it (`None` at end).
    fn peek_non_ws(&mut self) -> Result<Option<u8>> {
        loop {
            self.fill()?;
            let buf = self.reader.buffer();
            if buf.is_empty() {
                return Ok(None);
            }
            let skip = buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
            match skip {
                Some(n) => {
                    let b = buf[n];
                    self.reader.consume(n);
                    self.offset += n as u64;
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.reader.consume(n);
                    self.offset += n as u64;
                }
            }
        }
    }

    fn bump(&mut self) {
        self.reader.consume(1);
        self.offset += 1;
    }

    /// Copies one element's bytes into `self.element`; the next byte is its first byte.
    fn read_element(&mut self) -> Result<()> {
        self.element.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            self.fill()?;
            let buf = self.reader.buffer();
            if buf.is_empty() {
                if depth == 0 && !in_string && !self.element.is_empty() {
                    return Ok(()); // a scalar ended by the end of input
                }
                return Err(self.syntax("input ends inside an element"));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    // A scalar ends before a separator, the closing bracket or whitespace.
                    b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(buf.len());
            if self.element.len() + take > self.max_element_bytes {
                self.state = State::Finished;
                return Err(Error::JsonElementTooLarge {
                    index: self.index,
                    offset: self.offset - self.element.len() as u64,
                    limit_bytes: self.max_element_bytes,
                });
            }
            self.element.extend_from_slice(&buf[..take]);
            self.reader.consume(take);
            self.offset += take as u64;
            if end.is_some() {
                return Ok(());
            }
        }
    }

    fn next_element(&mut self) -> Result<Option<T>> {
        loop {
            match self.state {
                State::Finished => return Ok(None),
                State::Start => match self.peek_non_ws()? {
                    Some(b'[') => {
                        self.bump();
                        self.state = State::First;
                    }
                    _ => return Err(self.syntax("expected '[' at the start of the input")),
                },
                State::First | State::Between => {
                    let first = self.state == State::First;
                    match self.peek_non_ws()? {
                        Some(b']') => {
                            self.bump();
                            self.state = State::Finished;
                            if self.peek_non_ws()?.is_some() {
                                return Err(self.syntax("trailing data after the array"));
                            }
                            return Ok(None);
                        }
                        Some(b',') if !first => {
                            self.bump();
                            if matches!(self.peek_non_ws()?, Some(b']') | None) {
                                return Err(self.syntax("expected an element after ','"));
                            }
                            return self.parse_one().map(Some);
                        }
                        Some(b',') => return Err(self.syntax("expected an element or ']'")),
                        Some(_) if first => return self.parse_one().map(Some),
                        Some(_) => return Err(self.syntax("expected ',' or ']'")),
                        None => return Err(self.syntax("input ends inside the array")),
                    }
                }
            }
        }
    }

    fn parse_one(&mut self) -> Result<T> {
        let start = self.offset;
        self.read_element()?;
        self.state = State::Between;
        let index = self.index;
        self.index += 1;
        serde_json::from_slice(&self.element).map_err(|source| {
            self.state = State::Finished;
            Error::JsonElement {
                index,
                offset: start,
                source,
            }
        })
    }
}

impl<T: DeserializeOwned, R: Read> Iterator for JsonArrayStream<T, R> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_element().transpose()
    }
}

impl<T: DeserializeOwned, R: Read> std::iter::FusedIterator for JsonArrayStream<T, R> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: std::result::Result<Vec<serde_json::Value>, &str>) {
        let got: Result<Vec<serde_json::Value>> = JsonArrayStream::new(input.as_bytes()).collect();
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{input}"),
            (Err(g), Err(e)) => assert!(g.to_string().contains(e), "{input}: {g}"),
            (g, e) => panic!("{input}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn table() {
        use serde_json::json;
        check("[]", Ok(vec![]));
        check(" [ ] \n", Ok(vec![]));
        check("[1,2 , 3]", Ok(vec![json!(1), json!(2), json!(3)]));
        check(
            r#"[{"a":[1,{"b":"]}"}]},"x\"y",null,true,-1.5e3]"#,
            Ok(vec![
                json!({"a":[1,{"b":"]}"}]}),
                json!("x\"y"),
                json!(null),
                json!(true),
                json!(-1500.0),
            ]),
        );
        check(r#"["\\", "é"]"#, Ok(vec![json!("\\"), json!("é")]));
        check("{}", Err("expected '['"));
        check("", Err("expected '['"));
        check("[1,]", Err("expected an element after ','"));
        check("[,1]", Err("expected an element or ']'"));
        check("[1 2]", Err("expected ',' or ']'"));
        check("[1", Err("input ends inside the array"));
        check(r#"["abc"#, Err("input ends inside an element"));
        check("[1] x", Err("trailing data"));
        check("[tru]", Err("element 0"));
    }

    #[test]
    fn typed_elements_and_limits() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Repo {
            name: String,
        }
        let input = r#"[{"name":"a/b"},{"name":"c/d"},{"nom":"x"}]"#;
        let mut it = JsonArrayStream::<Repo, _>::new(input.as_bytes());
        assert_eq!(
            it.next().and_then(|r| r.ok()),
            Some(Repo { name: "a/b".into() })
        );
        assert_eq!(
            it.next().and_then(|r| r.ok()),
            Some(Repo { name: "c/d".into() })
        );
        assert!(matches!(
            it.next(),
            Some(Err(Error::JsonElement {
                index: 2,
                offset: 31,
                ..
            }))
        ));
        assert!(it.next().is_none());
        let mut it = JsonArrayStream::<String, _>::new(r#"["short","much longer"]"#.as_bytes())
            .max_element_bytes(8);
        assert!(matches!(it.next(), Some(Ok(_))));
        assert!(matches!(
            it.next(),
            Some(Err(Error::JsonElementTooLarge { index: 1, .. }))
        ));
    }
}
