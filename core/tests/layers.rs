//! The core's modules form layers: no module reaches, through `crate::…` paths, a module that
//! reaches it back, so each can be read with only the ones below it in mind. The graph is read
//! from the sources (`crate::name` in each `src/*.rs`), as a reader would follow it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let modules: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .filter(|m| m != "lib")
        .collect();
    let mut g = BTreeMap::new();
    for m in &modules {
        let text = std::fs::read_to_string(format!("{dir}/{m}.rs")).unwrap();
        let mut deps = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name != *m && modules.contains(&name) {
                deps.insert(name);
            }
        }
        g.insert(m.clone(), deps);
    }
    g
}

#[test]
fn no_module_of_the_core_depends_on_one_that_depends_on_it() {
    let g = graph();
    assert!(g.len() > 15, "the sources were found: {:?}", g.keys());
    // depth-first search for a cycle, reporting its path
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in &g[m] {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut Vec::new(), &mut done) {
            panic!("a module cycle: {}", cycle.join(" → "));
        }
    }
    // and the leaves stay leaves
    for leaf in ["field", "json", "time", "ids", "consent"] {
        assert!(g[leaf].is_empty(), "{leaf} depends on {:?}", g[leaf]);
    }
}
