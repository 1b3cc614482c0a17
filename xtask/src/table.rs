//! A small text/markdown table printer and number formatting with units.

/// Rows of cells under a header; the first column is left-aligned, the rest right-aligned.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Aligned plain text, one line per row.
    pub(crate) fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .chain(std::iter::once(&self.header[i]))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                if i == 0 {
                    line.push_str(&format!("{cell:<width$}"));
                } else {
                    line.push_str(&format!("  {cell:>width$}"));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// A GitHub-flavoured markdown table.
    pub(crate) fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        let aligns: Vec<&str> = (0..self.header.len())
            .map(|i| if i == 0 { "---" } else { "---:" })
            .collect();
        out.push_str(&format!("| {} |\n", aligns.join(" | ")));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }
}

/// Nanoseconds with a unit chosen to keep 3-4 significant digits.
pub(crate) fn ns(value: f64) -> String {
    let (v, unit) = if value >= 1e9 {
        (value / 1e9, "s")
    } else if value >= 1e6 {
        (value / 1e6, "ms")
    } else if value >= 1e3 {
        (value / 1e3, "µs")
    } else {
        (value, "ns")
    };
    format!("{} {unit}", sig(v))
}

/// A count with k/M/G suffixes (`1.23 M`).
pub(crate) fn count(value: f64) -> String {
    let (v, unit) = if value >= 1e9 {
        (value / 1e9, " G")
    } else if value >= 1e6 {
        (value / 1e6, " M")
    } else if value >= 1e3 {
        (value / 1e3, " k")
    } else {
        (value, "")
    };
    format!("{}{unit}", sig(v))
}

/// Bytes with binary units (`1.5 KiB`).
pub(crate) fn bytes(value: f64) -> String {
    let (v, unit) = if value >= 1024.0 * 1024.0 * 1024.0 {
        (value / (1024.0 * 1024.0 * 1024.0), "GiB")
    } else if value >= 1024.0 * 1024.0 {
        (value / (1024.0 * 1024.0), "MiB")
    } else if value >= 1024.0 {
        (value / 1024.0, "KiB")
    } else {
        (value, "B")
    };
    format!("{} {unit}", sig(v))
}

fn sig(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e4 {
        format!("{v:.0}")
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_chosen_by_magnitude() {
        for (got, expected) in [
            (ns(12.0), "12 ns"),
            (ns(1234.5), "1.234 µs"),
            (ns(2.5e9), "2.500 s"),
            (count(1_234_567.0), "1.235 M"),
            (bytes(1536.0), "1.500 KiB"),
            (bytes(3.0), "3 B"),
        ] {
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn tables_align_and_render_markdown() {
        let mut t = Table::new(&["id", "value"]);
        t.row(vec!["a/b".into(), "1".into()]);
        t.row(vec!["c".into(), "100".into()]);
        assert_eq!(t.text(), "id   value\na/b      1\nc      100\n");
        assert_eq!(
            t.markdown(),
            "| id | value |\n| --- | ---: |\n| a/b | 1 |\n| c | 100 |\n"
        );
    }
}
