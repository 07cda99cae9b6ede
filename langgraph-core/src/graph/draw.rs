//! Rendering a compiled graph as Mermaid or plain text.

use std::fmt::Write;

use crate::pregel::plan::Shape;
use crate::types::{END, START};

fn node_id(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Every edge of the graph as (from, to, kind, label).
pub(crate) fn edges(shape: &Shape) -> Vec<(String, String, &'static str, String)> {
    let mut v = Vec::new();
    let name_of = |i: usize| -> String {
        if i == shape.start() {
            START.to_string()
        } else {
            shape.name(i as u32).to_string()
        }
    };
    for i in 0..shape.sources() {
        let out = shape.out(i);
        let from = name_of(i);
        for d in out.to {
            v.push((
                from.clone(),
                shape.dest_name(*d).to_string(),
                "edge",
                String::new(),
            ));
        }
        for &r in out.routers {
            if let Some(router) = shape.routers.get(r as usize) {
                for (label, d) in &router.declared {
                    let to = shape.dest_name(*d).to_string();
                    let label = if router.labels {
                        label.to_string()
                    } else {
                        String::new()
                    };
                    v.push((from.clone(), to, "route", label));
                }
            }
        }
        if let Some(gotos) = shape.goto(i as u32) {
            for d in gotos {
                v.push((
                    from.clone(),
                    shape.dest_name(*d).to_string(),
                    "goto",
                    String::new(),
                ));
            }
        }
    }
    for j in &shape.joins {
        for s in &j.sources {
            v.push((
                shape.name(*s).to_string(),
                shape.name(j.target).to_string(),
                "join",
                String::new(),
            ));
        }
    }
    for (from, to) in &shape.fallbacks {
        v.push((
            shape.name(*from).to_string(),
            shape.name(*to).to_string(),
            "error",
            String::new(),
        ));
    }
    v
}

/// Mermaid flowchart source. Nodes that are compiled graphs are drawn as Mermaid subgraphs
/// with their own nodes and edges.
pub(crate) fn mermaid(shape: &Shape, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "---\ntitle: {title}\n---\nflowchart TD");
    mermaid_body(&mut s, shape, "", 1);
    s
}

fn mermaid_body(s: &mut String, shape: &Shape, prefix: &str, depth: usize) {
    let pad = "    ".repeat(depth);
    let id = |name: &str| format!("{prefix}{}", node_id(name));
    let _ = writeln!(s, "{pad}{}([\"START\"])", id(START));
    for (i, name) in shape.names.iter().enumerate() {
        if let Some((_, child, child_name)) = shape.children.iter().find(|c| c.0 == i as u32) {
            let _ = writeln!(s, "{pad}subgraph {}[\"{name}: {child_name}\"]", id(name));
            mermaid_body(s, child, &format!("{}__", id(name)), depth + 1);
            let _ = writeln!(s, "{pad}end");
            continue;
        }
        let suffix = if shape.is_deferred(i as u32) {
            " (deferred)"
        } else {
            ""
        };
        let _ = writeln!(s, "{pad}{}[\"{}{}\"]", id(name), name, suffix);
    }
    let _ = writeln!(s, "{pad}{}([\"END\"])", id(END));
    for (from, to, kind, label) in edges(shape) {
        let (a, b) = (id(&from), id(&to));
        let arrow = match (kind, label.is_empty()) {
            ("edge", _) => "-->".to_string(),
            ("join", _) => "== join ==>".to_string(),
            ("goto", _) => "-. goto .->".to_string(),
            ("error", _) => "-. on error .->".to_string(),
            (_, true) => "-.->".to_string(),
            (_, false) => format!("-. {label} .->"),
        };
        let _ = writeln!(s, "{pad}{a} {arrow} {b}");
    }
}

/// A plain-text listing: one line per source with its destinations (`x?` for a conditional
/// route, `(join)`, `(goto)`, `(on error)`), then each subgraph's listing, indented.
pub(crate) fn ascii(shape: &Shape) -> String {
    let mut s = String::new();
    ascii_body(&mut s, shape, 0);
    s
}

fn ascii_body(s: &mut String, shape: &Shape, depth: usize) {
    let pad = "  ".repeat(depth);
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for (from, to, kind, label) in edges(shape) {
        let item = match (kind, label.is_empty()) {
            ("edge", _) => to,
            ("join", _) => format!("{to} (join)"),
            ("goto", _) => format!("{to} (goto)"),
            ("error", _) => format!("{to} (on error)"),
            (_, true) => format!("{to}?"),
            (_, false) => format!("{to}? [{label}]"),
        };
        match lines.iter_mut().find(|(f, _)| *f == from) {
            Some((_, v)) => v.push(item),
            None => lines.push((from, vec![item])),
        }
    }
    for (from, to) in lines {
        let _ = writeln!(s, "{pad}{from} -> {}", to.join(", "));
    }
    for (node, child, name) in &shape.children {
        let _ = writeln!(s, "{pad}[{}: subgraph {name}]", shape.name(*node));
        ascii_body(s, child, depth + 1);
    }
}
