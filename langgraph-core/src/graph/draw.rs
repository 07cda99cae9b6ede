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
    v
}

/// Mermaid flowchart source.
pub(crate) fn mermaid(shape: &Shape, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "---\ntitle: {title}\n---\nflowchart TD");
    let _ = writeln!(s, "    {}([\"START\"])", node_id(START));
    for (i, name) in shape.names.iter().enumerate() {
        let suffix = if shape.is_deferred(i as u32) {
            " (deferred)"
        } else {
            ""
        };
        let _ = writeln!(s, "    {}[\"{}{}\"]", node_id(name), name, suffix);
    }
    let _ = writeln!(s, "    {}([\"END\"])", node_id(END));
    for (from, to, kind, label) in edges(shape) {
        let (a, b) = (node_id(&from), node_id(&to));
        let arrow = match (kind, label.is_empty()) {
            ("edge", _) => "-->".to_string(),
            ("join", _) => "== join ==>".to_string(),
            ("goto", _) => "-. goto .->".to_string(),
            (_, true) => "-.->".to_string(),
            (_, false) => format!("-. {label} .->"),
        };
        let _ = writeln!(s, "    {a} {arrow} {b}");
    }
    s
}

/// A plain-text adjacency listing, one line per source.
pub(crate) fn ascii(shape: &Shape) -> String {
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for (from, to, kind, label) in edges(shape) {
        let item = match (kind, label.is_empty()) {
            ("edge", _) => to,
            ("join", _) => format!("{to} (join)"),
            ("goto", _) => format!("{to} (goto)"),
            (_, true) => format!("{to}?"),
            (_, false) => format!("{to}? [{label}]"),
        };
        match lines.iter_mut().find(|(f, _)| *f == from) {
            Some((_, v)) => v.push(item),
            None => lines.push((from, vec![item])),
        }
    }
    let mut s = String::new();
    for (from, to) in lines {
        let _ = writeln!(s, "{from} -> {}", to.join(", "));
    }
    s
}
