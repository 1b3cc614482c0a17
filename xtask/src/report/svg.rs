//! A small SVG writer for horizontal grouped bar charts.
//!
//! One chart is a list of groups (a row label each) with one bar per series. Values are drawn
//! on a linear axis or, when they span orders of magnitude, a base-10 log axis. The output is
//! deterministic: fixed sizes, numbers printed with fixed precision, no timestamps or ids.

use std::fmt::Write;

/// Fill colours of the series, in order (colour-blind safe: Okabe-Ito).
const COLOURS: &[&str] = &["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"];

const LABEL_W: f64 = 340.0;
const PLOT_W: f64 = 420.0;
const VALUE_W: f64 = 110.0;
const BAR_H: f64 = 12.0;
const GROUP_GAP: f64 = 8.0;
const TOP: f64 = 48.0;

/// A grouped horizontal bar chart.
#[derive(Debug, Clone)]
pub(crate) struct BarChart {
    /// Title line at the top.
    pub(crate) title: String,
    /// Series names, shown in the legend; `groups[i].1[j]` belongs to `series[j]`.
    pub(crate) series: Vec<String>,
    /// Row label and one optional value per series (`None` leaves the bar out).
    pub(crate) groups: Vec<(String, Vec<Option<f64>>)>,
    /// Formats a value for the label after its bar.
    pub(crate) format: fn(f64) -> String,
    /// Draw on a log10 axis.
    pub(crate) log: bool,
}

impl BarChart {
    /// The chart as a standalone SVG document.
    pub(crate) fn render(&self) -> String {
        let values: Vec<f64> = self
            .groups
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied())
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let (lo, hi) = if self.log {
            let lo = if min.is_finite() {
                min.log10().floor() - 0.0
            } else {
                0.0
            };
            (lo, max.log10().ceil().max(lo + 1.0))
        } else {
            (0.0, if max > 0.0 { max } else { 1.0 })
        };
        let scale = |v: f64| -> f64 {
            let x = if self.log {
                (v.log10() - lo) / (hi - lo)
            } else {
                v / hi
            };
            (x.clamp(0.0, 1.0) * PLOT_W).max(1.0)
        };
        let per_group = self.series.len() as f64 * BAR_H + GROUP_GAP;
        let height = TOP + self.groups.len() as f64 * per_group + 30.0;
        let width = LABEL_W + PLOT_W + VALUE_W;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(
            s,
            r#"<rect width="100%" height="100%" fill="white"/><text x="8" y="18" font-size="14" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        // Legend.
        let mut x = 8.0;
        for (i, name) in self.series.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="28" width="10" height="10" fill="{}"/><text x="{:.1}" y="37">{}</text>"#,
                COLOURS[i % COLOURS.len()],
                x + 14.0,
                escape(name)
            );
            x += 24.0 + 6.5 * name.chars().count() as f64;
        }
        let axis = if self.log {
            "log scale"
        } else {
            "linear scale"
        };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="37" text-anchor="end" fill="#555">{axis}</text>"##,
            width - 8.0
        );
        for (g, (label, vals)) in self.groups.iter().enumerate() {
            let y0 = TOP + g as f64 * per_group;
            let mid = y0 + self.series.len() as f64 * BAR_H / 2.0 + 4.0;
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{mid:.1}" text-anchor="end">{}</text>"#,
                LABEL_W - 8.0,
                escape(label)
            );
            for (i, v) in vals.iter().enumerate() {
                let Some(v) = v.filter(|v| v.is_finite() && *v > 0.0) else {
                    continue;
                };
                let y = y0 + i as f64 * BAR_H;
                let w = scale(v);
                let _ = writeln!(
                    s,
                    r##"<rect x="{LABEL_W:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" fill="#333">{}</text>"##,
                    BAR_H - 2.0,
                    COLOURS[i % COLOURS.len()],
                    escape(&self.series[i]),
                    escape(&(self.format)(v)),
                    LABEL_W + w + 4.0,
                    y + BAR_H - 3.0,
                    escape(&(self.format)(v))
                );
            }
        }
        let base = TOP + self.groups.len() as f64 * per_group;
        let _ = writeln!(
            s,
            r##"<line x1="{LABEL_W:.1}" y1="{:.1}" x2="{LABEL_W:.1}" y2="{base:.1}" stroke="#888"/>"##,
            TOP - 4.0
        );
        s.push_str("</svg>\n");
        s
    }
}

/// Escapes the five XML special characters.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(log: bool) -> BarChart {
        BarChart {
            title: "a < b & c".into(),
            series: vec!["ours".into(), "theirs".into()],
            groups: vec![
                ("x".into(), vec![Some(10.0), Some(1000.0)]),
                ("y".into(), vec![None, Some(5.0)]),
            ],
            format: |v| format!("{v:.0}"),
            log,
        }
    }

    #[test]
    fn bars_are_scaled_escaped_and_missing_values_left_out() {
        let svg = chart(false).render();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt; b &amp; c"));
        // Three bars (one value is None), the largest spans the plot width.
        assert_eq!(svg.matches("<rect x=\"340.0\"").count(), 3);
        assert!(svg.contains("width=\"420.0\""));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert_eq!(chart(false).render(), svg, "rendering is deterministic");
    }

    #[test]
    fn log_axis_places_decades_proportionally() {
        let svg = chart(true).render();
        // Axis 10^0..10^3: 10 sits at a third, 1000 at the full width.
        assert!(svg.contains("width=\"140.0\""), "{svg}");
        assert!(svg.contains("width=\"420.0\""));
        assert!(svg.contains("log scale"));
    }
}
