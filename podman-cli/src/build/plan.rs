//! Which stages a build needs: stage names (`FROM x AS name`), the stages
//! each one reads (`FROM <stage>`, `COPY --from=<stage>`, `RUN
//! --mount=from=<stage>`), the target and everything it depends on, and
//! cycles between stages refused. No I/O.

use super::parse::{Containerfile, Instruction};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("the target {0:?} is not a stage of the Containerfile: give one of its `FROM ... AS NAME` names")]
    NoTarget(String),
    #[error("circular dependency between stages: {0}")]
    Cycle(String),
    #[error("duplicate stage name {0:?}: each `AS NAME` must be unique")]
    Duplicate(String),
}

/// The `AS name` of a stage (lower case), if any.
pub fn stage_name(from: &Instruction) -> Option<String> {
    let w: Vec<&str> = from.args.split_whitespace().collect();
    match w.as_slice() {
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
        _ => None,
    }
}

/// The stage a reference names: `name` or a stage index.
pub fn stage_index(f: &Containerfile, reference: &str) -> Option<usize> {
    let r = reference.to_ascii_lowercase();
    if let Some(i) = f
        .stages
        .iter()
        .position(|s| stage_name(&s[0]).as_deref() == Some(r.as_str()))
    {
        return Some(i);
    }
    r.parse::<usize>().ok().filter(|i| *i < f.stages.len())
}

/// The stages stage `i` reads from.
fn deps(f: &Containerfile, i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for inst in &f.stages[i] {
        let mut refs: Vec<String> = Vec::new();
        match inst.keyword.as_str() {
            "FROM" => refs.extend(inst.args.split_whitespace().next().map(String::from)),
            "COPY" | "ADD" => refs.extend(inst.flag("from").map(String::from)),
            "RUN" => {
                for m in inst.flag_all("mount") {
                    for kv in m.split(',') {
                        if let Some(v) = kv.strip_prefix("from=") {
                            refs.push(v.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
        for r in refs {
            // A stage may only read its own name as an image (FROM x AS x).
            let name_is_self = inst.keyword == "FROM";
            if let Some(d) = stage_index(f, &r) {
                if !(out.contains(&d) || name_is_self && d == i) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// The stages to build, in order, for `target` (default: the last).
pub fn needed(f: &Containerfile, target: Option<&str>) -> Result<Vec<usize>, PlanError> {
    let mut seen = std::collections::HashSet::new();
    for s in &f.stages {
        if let Some(n) = stage_name(&s[0]) {
            if !seen.insert(n.clone()) {
                return Err(PlanError::Duplicate(n));
            }
        }
    }
    let last = match target {
        Some(t) => f
            .stages
            .iter()
            .position(|s| stage_name(&s[0]).as_deref() == Some(t.to_ascii_lowercase().as_str()))
            .ok_or_else(|| PlanError::NoTarget(t.to_string()))?,
        None => f.stages.len() - 1,
    };
    let mut order = Vec::new();
    let mut path = Vec::new();
    visit(f, last, &mut path, &mut order)?;
    order.sort_unstable();
    Ok(order)
}

fn visit(
    f: &Containerfile,
    i: usize,
    path: &mut Vec<usize>,
    order: &mut Vec<usize>,
) -> Result<(), PlanError> {
    if let Some(p) = path.iter().position(|x| *x == i) {
        let label = |s: usize| stage_name(&f.stages[s][0]).unwrap_or_else(|| s.to_string());
        let mut names: Vec<String> = path[p..].iter().map(|s| label(*s)).collect();
        names.push(label(i));
        return Err(PlanError::Cycle(names.join(" -> ")));
    }
    if order.contains(&i) {
        return Ok(());
    }
    path.push(i);
    for d in deps(f, i) {
        visit(f, d, path, order)?;
    }
    path.pop();
    order.push(i);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::parse::parse;

    #[test]
    fn only_needed_stages_in_order() {
        let f = parse(
            "C",
            "FROM a AS one\nFROM b AS unused\nFROM one AS two\nCOPY --from=0 /x /y\nFROM c\nCOPY --from=two /y /z\n",
        )
        .unwrap();
        assert_eq!(needed(&f, None).unwrap(), [0, 2, 3]);
        assert_eq!(needed(&f, Some("TWO")).unwrap(), [0, 2]);
        assert_eq!(needed(&f, Some("unused")).unwrap(), [1]);
        assert!(matches!(
            needed(&f, Some("nope")),
            Err(PlanError::NoTarget(_))
        ));
    }

    #[test]
    fn cycles_and_duplicates_are_refused() {
        let f = parse(
            "C",
            "FROM a AS x\nCOPY --from=y /a /b\nFROM b AS y\nCOPY --from=x /a /b\n",
        )
        .unwrap();
        assert_eq!(
            needed(&f, None).unwrap_err(),
            PlanError::Cycle("y -> x -> y".into())
        );
        let f = parse("C", "FROM a AS x\nCOPY --from=x /a /b\n").unwrap();
        assert!(matches!(needed(&f, None), Err(PlanError::Cycle(_))));
        let f = parse("C", "FROM a AS x\nFROM b AS x\n").unwrap();
        assert!(matches!(needed(&f, None), Err(PlanError::Duplicate(_))));
        let f = parse("C", "FROM alpine AS alpine\nRUN true\n").unwrap();
        assert_eq!(needed(&f, None).unwrap(), [0]);
    }
}
