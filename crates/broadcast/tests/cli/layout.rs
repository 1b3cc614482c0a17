//! The shape of `src/`: the module graph has no cycle, so each module can be read (and tested)
//! without the ones that use it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module of each source file -> the top-level modules it names as `crate::x`, with
/// comments and `#[cfg(test)]` code left out.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let re = regex::Regex::new(r"crate::([a-z_]+)").expect("regex");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read src") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .into_owned();
            let name = rel.trim_end_matches(".rs");
            if !rel.ends_with(".rs") || name == "lib" || name == "main" || name.contains("test") {
                continue;
            }
            let top = name.split('/').next().expect("a component").to_owned();
            let text = std::fs::read_to_string(&path).expect("read");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let deps = graph.entry(top.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for c in re.captures_iter(line) {
                    if c[1] != *top {
                        deps.insert(c[1].to_owned());
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn module_graph_has_no_cycle() {
    let graph = graph();
    assert!(
        graph.contains_key("sync") && graph.contains_key("report"),
        "{graph:?}"
    );
    // Depth-first search; a module met again while on the stack closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(i) = stack.iter().position(|s| s == m) {
            panic!("module cycle: {} -> {m}", stack[i..].join(" -> "));
        }
        if !done.insert(m.to_owned()) {
            return;
        }
        stack.push(m.to_owned());
        for d in graph.get(m).into_iter().flatten() {
            visit(d, graph, stack, done);
        }
        stack.pop();
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
    // The leaves stay leaves.
    for leaf in ["report", "escape"] {
        assert!(graph[leaf].is_empty(), "{leaf} imports {:?}", graph[leaf]);
    }
}
