//! Tests of the report generator on a small fixture baseline (`fixtures/`).

use super::*;

const MAIN: &str = include_str!("fixtures/main.json");
const GO: &str = include_str!("fixtures/go-broadcast.json");

/// A temp workspace root holding `baselines/` with the given files.
struct Root(PathBuf);

impl Root {
    fn new(tag: &str, files: &[(&str, &str)]) -> Root {
        let root = std::env::temp_dir().join(format!("xtask-report-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("baselines")).unwrap();
        for (name, text) in files {
            std::fs::write(root.join("baselines").join(name), text).unwrap();
        }
        Root(root)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn readme(files: &[(PathBuf, String)]) -> &str {
    &files
        .iter()
        .find(|(p, _)| p == Path::new("README.md"))
        .expect("README.md generated")
        .1
}

#[test]
fn the_report_is_deterministic_and_draws_every_chart() {
    let root = Root::new("det", &[("main.json", MAIN), ("go-broadcast.json", GO)]);
    let a = generate(&load(&root.0).unwrap());
    let b = generate(&load(&root.0).unwrap());
    assert_eq!(a, b);
    let names: Vec<String> = a.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "README.md",
            "anchors.svg",
            "e2e-first-sync.svg",
            "go-broadcast.svg",
            "instructions.svg"
        ]
    );
    let md = readme(&a);
    assert!(md.contains("| `timestamp` |") || md.contains("`2026-01-31T12:00:00Z`"));
    assert!(md.contains("![e2e first-sync](e2e-first-sync.svg)"));
    // The e2e row: reference 1 s, broadcast 400 ms, 2.50x faster.
    assert!(
        md.contains("| first-sync 10t x 100f | 1 s | 400 ms | 2.50x | -60 % |"),
        "{md}"
    );
}

#[test]
fn go_broadcast_rows_give_theirs_ours_ratio_and_allocation_change() {
    let root = Root::new("go", &[("main.json", MAIN), ("go-broadcast.json", GO)]);
    let md = readme(&generate(&load(&root.0).unwrap())).to_owned();
    assert!(md.contains("theirs Apple M1 Max"));
    // 2.944 ms / 1.472 ms = 2.00; 3958 allocations against 15832 is -75 %.
    assert!(
        md.contains("| LoadAndValidate_Large (`anchors/LoadAndValidate_Large`) | 1.472 ms | 2.944 ms | 2.00 |"),
        "{md}"
    );
    assert!(md.contains("| -75 % |"));
    assert!(md.contains("Not in main.json yet: `anchors/PRParsing`."));
    assert!(md.contains("| -50 % allocations (vs go-broadcast) | 1 anchors: from -75 %"));
}

#[test]
fn without_the_go_broadcast_file_the_section_says_so() {
    let root = Root::new("nogo", &[("main.json", MAIN)]);
    let files = generate(&load(&root.0).unwrap());
    let md = readme(&files);
    assert!(md.contains("`baselines/go-broadcast.json` is not committed"));
    assert!(md.contains("| -50 % allocations (vs go-broadcast) | not measured | not measured |"));
    assert!(
        !files
            .iter()
            .any(|(p, _)| p == Path::new("go-broadcast.svg"))
    );
}

#[test]
fn success_metrics_carry_values_and_verdicts() {
    let root = Root::new("succ", &[("main.json", MAIN)]);
    let rows = status::success_metrics(&load(&root.0).unwrap());
    let find = |t: &str| rows.iter().find(|r| r.0.starts_with(t)).unwrap().clone();
    assert_eq!(find("typical sync").2, "holds");
    assert!(find("typical sync").1.starts_with("400 ms"));
    // Slowest writing run: 166 files/s.
    assert!(
        find("> 100 files/s")
            .1
            .starts_with("slowest writing run 166 files/s")
    );
    assert_eq!(find("< 100 MB").2, "holds");
    assert_eq!(
        find("linear scaling to 20 parallel operations (I/O").2,
        "holds"
    );
    assert_eq!(
        find("linear scaling to 20 parallel operations (REST").1,
        "not measured"
    );
}

#[test]
fn recommendations_follow_the_numbers() {
    let root = Root::new("rec", &[("main.json", MAIN), ("go-broadcast.json", GO)]);
    let recs = markdown::recommendation_list(&load(&root.0).unwrap());
    assert!(
        recs[0].contains("`first-sync/1targets-10files` (1.20x"),
        "{recs:?}"
    );
    assert!(
        recs.iter().all(|r| !r.contains("allocation goal")),
        "-75 % meets it"
    );
    assert!(recs.iter().any(|r| r.contains("REST calls, loopback")));
}

#[test]
fn check_fails_on_a_changed_missing_or_extra_file() {
    let root = Root::new("check", &[("main.json", MAIN)]);
    let check = ReportOptions { check: true };
    assert!(run_at(&root.0, &check).is_err(), "nothing written yet");
    run_at(&root.0, &ReportOptions::default()).unwrap();
    run_at(&root.0, &check).unwrap();
    let out = root.0.join(OUT_DIR);
    std::fs::write(out.join("anchors.svg"), "<svg/>").unwrap();
    std::fs::write(out.join("old.svg"), "<svg/>").unwrap();
    let err = run_at(&root.0, &check).unwrap_err().to_string();
    assert!(err.contains("anchors.svg differs"), "{err}");
    assert!(err.contains("old.svg is not generated any more"), "{err}");
    // Regenerating repairs both.
    run_at(&root.0, &ReportOptions::default()).unwrap();
    run_at(&root.0, &check).unwrap();
    // A changed baseline makes the committed report stale.
    std::fs::write(
        root.0.join("baselines/main.json"),
        MAIN.replace("400000000.0", "300000000.0"),
    )
    .unwrap();
    let err = run_at(&root.0, &check).unwrap_err().to_string();
    assert!(err.contains("README.md differs"), "{err}");
}
