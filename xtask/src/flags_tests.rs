//! Tests of the task and flag parser.

use super::*;

fn check(args: &[&str], expected: &str) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let got = match parse(&args) {
        Ok(Some(task)) => format!("{task:?}"),
        Ok(None) => "help".to_owned(),
        Err(err) => format!("error: {}", err.to_string().lines().next().unwrap_or("")),
    };
    assert!(
        got.contains(expected),
        "{args:?}: got {got}, expected it to contain {expected}"
    );
}

#[test]
fn flags_parse_into_tasks() {
    check(&[], "help");
    check(&["bench", "--help"], "help");
    check(&["lint"], "Lint");
    check(&["lint", "x"], "error: unexpected argument `x`");
    check(
        &["bench", "--quick", "--save", "main"],
        "quick: true, filter: None, save: Some(\"main\")",
    );
    check(&["bench", "--filter"], "error: --filter needs a value");
    check(
        &["bench", "--save", "main", "--merge"],
        "save: Some(\"main\"), merge: true",
    );
    check(&["bench", "--merge"], "error: --merge needs --save NAME");
    check(
        &["bench", "--instructions", "--with-instructions"],
        "error: --instructions and",
    );
    check(
        &["compare", "main"],
        "old: \"main\", new: None, threshold_pct: 10.0",
    );
    check(
        &["compare", "a", "b", "--threshold", "5"],
        "new: Some(\"b\"), threshold_pct: 5.0",
    );
    check(
        &["compare", "--format", "markdown", "a"],
        "format: Markdown",
    );
    check(&["compare"], "error: compare needs OLD");
    check(
        &["compare", "a", "b", "c"],
        "error: unexpected argument `c`",
    );
    check(
        &["e2e", "--targets", "1,10", "--runs", "0"],
        "runs: Some(1), targets: Some([1, 10])",
    );
    check(&["e2e", "--files", "x"], "error: --files takes numbers");
    check(&["nope"], "error: unknown task `nope`");
    check(
        &["report", "--check"],
        "Report(ReportOptions { check: true })",
    );
    check(&["report", "--x"], "error: unknown flag `--x`");
    check(
        &[
            "fuzz",
            "--minutes",
            "0.5",
            "--target",
            "git,redact",
            "--target",
            "config",
        ],
        "minutes: 0.5, targets: [\"git\", \"redact\", \"config\"], cases: None",
    );
    check(&["fuzz", "--cases", "x"], "error: --cases takes a number");
}
