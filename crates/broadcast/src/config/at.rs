//! Field paths of validation issues (`groups[1].targets[0].files[2].dest`), built on the stack
//! as a chain of borrowed segments and written out only when an issue is reported, so a config
//! without problems is checked without formatting or allocating a path.

use std::fmt;

/// A field path: a root key, then fields (`.name`) and indexes (`[i]`).
#[derive(Debug, Clone, Copy)]
pub(super) enum At<'a> {
    /// A top-level key, or a path already written out: `groups`, `version`.
    Root(&'a str),
    /// `<parent>.<name>`.
    Field(&'a At<'a>, &'a str),
    /// `<parent>[<index>]`.
    Index(&'a At<'a>, usize),
}

impl<'a> At<'a> {
    /// `self.name`.
    pub(super) fn field(&'a self, name: &'a str) -> At<'a> {
        At::Field(self, name)
    }

    /// `self[index]`.
    pub(super) fn index(&'a self, index: usize) -> At<'a> {
        At::Index(self, index)
    }

    /// `self.name[index]`, written out (for messages that name another field).
    pub(super) fn item(&self, name: &str, index: usize) -> String {
        format!("{self}.{name}[{index}]")
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Root(name) => f.write_str(name),
            At::Field(parent, name) => write!(f, "{parent}.{name}"),
            At::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::At;

    #[test]
    fn writes_fields_and_indexes() {
        let groups = At::Root("groups");
        let g = groups.index(1);
        let targets = g.field("targets");
        let t = targets.index(0);
        assert_eq!(t.field("dest").to_string(), "groups[1].targets[0].dest");
        assert_eq!(t.item("files", 2), "groups[1].targets[0].files[2]");
        assert_eq!(At::Root("version").to_string(), "version");
    }
}
