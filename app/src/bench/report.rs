//! The bench's result: rows of (figure, baseline, ratio, target), printed as a table or
//! serialised as JSON.

use std::fmt::Write as _;

/// A target a figure is checked against.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Target {
    /// The rule, e.g. "<= 1.10x raw".
    pub rule: String,
    /// Whether this run met it.
    pub met: bool,
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Which of the bench's sections.
    pub section: String,
    /// What was measured.
    pub metric: String,
    /// hv's figure.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The baseline's name, when there is one.
    pub baseline: Option<String>,
    /// The baseline's figure, in the same unit.
    pub baseline_value: Option<f64>,
    /// value / baseline (or the ratio the section defines).
    pub ratio: Option<f64>,
    /// The target, when the issue sets one.
    pub target: Option<Target>,
}

impl Row {
    /// A row with a figure only.
    pub fn new(section: &str, metric: impl Into<String>, value: f64, unit: &str) -> Self {
        Self {
            section: section.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
            baseline: None,
            baseline_value: None,
            ratio: None,
            target: None,
        }
    }

    /// Adds a baseline and the ratio value / baseline.
    pub fn vs(mut self, name: &str, baseline: f64) -> Self {
        self.baseline = Some(name.into());
        self.baseline_value = Some(baseline);
        self.ratio = Some(self.value / baseline);
        self
    }

    /// Overrides the ratio (e.g. a median of per-repetition ratios).
    pub fn ratio(mut self, r: f64) -> Self {
        self.ratio = Some(r);
        self
    }

    /// Adds a target.
    pub fn target(mut self, rule: impl Into<String>, met: bool) -> Self {
        self.target = Some(Target {
            rule: rule.into(),
            met,
        });
        self
    }
}

/// Everything one `hv bench` run found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Host description (kernel, CPU, core count).
    pub host: String,
    /// The figures.
    pub rows: Vec<Row>,
    /// Things that could not be measured, and why.
    pub notes: Vec<String>,
}

/// A number with precision that suits its size.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

impl Report {
    /// Targets met and missed.
    pub fn verdicts(&self) -> (usize, usize) {
        let met = self
            .rows
            .iter()
            .filter(|r| r.target.as_ref().is_some_and(|t| t.met))
            .count();
        let all = self.rows.iter().filter(|r| r.target.is_some()).count();
        (met, all - met)
    }

    /// The human-readable table (also used in docs/performance.md: it is Markdown).
    pub fn table(&self) -> String {
        let header = [
            "section", "metric", "hv", "unit", "baseline", "base", "ratio", "target", "",
        ];
        let mut cells: Vec<[String; 9]> = vec![header.map(String::from)];
        for r in &self.rows {
            cells.push([
                r.section.clone(),
                r.metric.clone(),
                fmt_num(r.value),
                r.unit.clone(),
                r.baseline.clone().unwrap_or_default(),
                r.baseline_value.map(fmt_num).unwrap_or_default(),
                r.ratio
                    .map(|x| format!("{}x", fmt_num(x)))
                    .unwrap_or_default(),
                r.target
                    .as_ref()
                    .map(|t| t.rule.clone())
                    .unwrap_or_default(),
                r.target
                    .as_ref()
                    .map(|t| if t.met { "PASS" } else { "MISS" }.to_string())
                    .unwrap_or_default(),
            ]);
        }
        let widths: Vec<usize> = (0..9)
            .map(|c| {
                cells
                    .iter()
                    .map(|row| row[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (i, row) in cells.iter().enumerate() {
            out.push('|');
            for (c, cell) in row.iter().enumerate() {
                let _ = write!(out, " {cell:<w$} |", w = widths[c]);
            }
            out.push('\n');
            if i == 0 {
                out.push('|');
                for w in &widths {
                    let _ = write!(out, "{}|", "-".repeat(w + 2));
                }
                out.push('\n');
            }
        }
        let (met, missed) = self.verdicts();
        let _ = writeln!(out, "\ntargets: {met} met, {missed} missed");
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            host: "test".into(),
            rows: vec![
                Row::new("exit", "pio-out round trip", 11.0, "µs")
                    .vs("raw KVM_RUN", 10.0)
                    .target("<= 1.10x", true),
                Row::new("render", "text 720x400", 0.25, "ms").target("<= 0.5 ms", true),
                Row::new("idle", "CPU", 3.0, "%").target("<= 2%", false),
            ],
            notes: vec!["window not built".into()],
        }
    }

    #[test]
    fn table_is_aligned_markdown_with_verdicts() {
        let t = sample().table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("| section"));
        assert!(lines[1].starts_with("|---"));
        let width = lines[0].chars().count();
        assert!(lines[..5].iter().all(|l| l.chars().count() == width), "{t}");
        assert!(lines[2].contains("1.10x") && lines[2].contains("PASS"));
        assert!(lines[4].contains("MISS"));
        assert!(t.contains("targets: 2 met, 1 missed"));
        assert!(t.contains("note: window not built"));
    }

    #[test]
    fn json_has_rows_and_targets() {
        let v = serde_json::to_value(sample()).expect("serialises");
        assert_eq!(v["rows"][0]["ratio"], 1.1);
        assert_eq!(v["rows"][2]["target"]["met"], false);
        assert_eq!(v["rows"][1]["baseline"], serde_json::Value::Null);
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_num(12345.6), "12346");
        assert_eq!(fmt_num(123.45), "123.5");
        assert_eq!(fmt_num(1.234), "1.23");
        assert_eq!(fmt_num(0.01234), "0.0123");
        assert_eq!(fmt_num(f64::NAN), "n/a");
        assert_eq!(fmt_num(0.0), "0");
    }
}
