//! Settings go-broadcast has and broadcast accepts without acting on them: each one set gets a
//! warning, so nobody relies on a key that does nothing.

use super::Config;

/// One warning per accepted-but-ignored setting, naming its field path.
pub fn ignored_settings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &config.rate_limit_preflight
        && r.secondary_reserve != 0
    {
        out.push(format!(
            "rate_limit_preflight.secondary_reserve: ignored ({}): broadcast spaces writes by a fixed interval instead of reserving per-minute writes (see docs/github.md)",
            r.secondary_reserve
        ));
    }
    for (gi, g) in config.groups.iter().enumerate() {
        for (ti, t) in g.targets.iter().enumerate() {
            for (di, d) in t.directories.iter().enumerate() {
                if d.module.is_some() {
                    out.push(format!(
                        "groups[{gi}].targets[{ti}].directories[{di}].module: ignored: module-aware sync is not implemented; the directory is copied file by file"
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn module_and_secondary_reserve_are_reported_with_their_paths() {
        let yaml = "version: 1\nrate_limit_preflight: {secondary_reserve: 5, primary_margin_percent: 30}\ngroups:\n  - name: g\n    id: g\n    source: {repo: ./t}\n    targets:\n      - repo: ./a\n        directories:\n          - {src: x, dest: x, module: {type: go, version: latest}}\n";
        let config = crate::config::parse_str(yaml, Path::new("/")).unwrap();
        let w = ignored_settings(&config);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("rate_limit_preflight.secondary_reserve: ignored"));
        assert!(w[1].starts_with("groups[0].targets[0].directories[0].module: ignored"));
    }

    #[test]
    fn a_plain_config_has_none() {
        let yaml = "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {repo: ./t}\n    targets: [{repo: ./a, files: [{src: a, dest: a}]}]\n";
        let config = crate::config::parse_str(yaml, Path::new("/")).unwrap();
        assert!(ignored_settings(&config).is_empty());
    }
}
