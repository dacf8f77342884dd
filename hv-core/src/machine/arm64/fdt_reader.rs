//! A small flattened-device-tree reader for tests: parses a DTB back into nodes and
//! properties so the generated tree is checked by content, not by bytes.
//!
//! Format facts from the Devicetree Specification v0.4, chapter 5: a 40-byte big-endian
//! header, then a structure block of 4-byte-aligned tokens (BEGIN_NODE 1, END_NODE 2,
//! PROP 3, NOP 4, END 9) and a strings block holding property names.

use std::collections::BTreeMap;

const MAGIC: u32 = 0xD00D_FEED;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;

/// One node: its properties by name.
#[derive(Debug, Default, Clone)]
pub struct Node {
    props: BTreeMap<String, Vec<u8>>,
}

impl Node {
    /// True if the property exists (also for empty ones such as `interrupt-controller`).
    pub fn has(&self, name: &str) -> bool {
        self.props.contains_key(name)
    }

    /// A string-list property.
    pub fn strings(&self, name: &str) -> Vec<String> {
        let Some(raw) = self.props.get(name) else {
            return Vec::new();
        };
        raw.split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }

    /// A property as big-endian u32 cells.
    pub fn u32s(&self, name: &str) -> Vec<u32> {
        self.props.get(name).map_or_else(Vec::new, |raw| {
            raw.chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
    }

    /// A property as big-endian u64 pairs of cells.
    pub fn u64s(&self, name: &str) -> Vec<u64> {
        let cells = self.u32s(name);
        cells
            .chunks_exact(2)
            .map(|c| (u64::from(c[0]) << 32) | u64::from(c[1]))
            .collect()
    }

    /// A single-cell property.
    pub fn u32(&self, name: &str) -> Option<u32> {
        match self.u32s(name).as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }
}

/// A parsed tree: nodes by full path ("/", "/cpus/cpu@0", ...).
#[derive(Debug, Default)]
pub struct Fdt {
    nodes: BTreeMap<String, Node>,
}

fn be32(blob: &[u8], off: usize) -> Result<u32, String> {
    blob.get(off..off + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("truncated at {off:#x}"))
}

fn c_string(blob: &[u8], off: usize) -> Result<&[u8], String> {
    let rest = blob.get(off..).ok_or("string out of bounds")?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or("unterminated string")?;
    Ok(&rest[..len])
}

impl Fdt {
    /// Parses `blob`, checking the header and that every token stays in bounds.
    pub fn parse(blob: &[u8]) -> Result<Self, String> {
        if be32(blob, 0)? != MAGIC {
            return Err("bad magic".into());
        }
        let total = be32(blob, 4)? as usize;
        if total != blob.len() {
            return Err(format!("totalsize {total} != blob length {}", blob.len()));
        }
        let off_struct = be32(blob, 8)? as usize;
        let off_strings = be32(blob, 12)? as usize;
        if be32(blob, 20)? < 16 {
            return Err("version below 16".into());
        }
        let mut fdt = Fdt::default();
        let mut path: Vec<String> = Vec::new();
        let mut pos = off_struct;
        loop {
            let token = be32(blob, pos)?;
            pos += 4;
            match token {
                BEGIN_NODE => {
                    let name = c_string(blob, pos)?;
                    pos = (pos + name.len() + 1).next_multiple_of(4);
                    path.push(String::from_utf8_lossy(name).into_owned());
                    fdt.nodes.insert(Self::join(&path), Node::default());
                }
                END_NODE => {
                    path.pop().ok_or("END_NODE without a node")?;
                }
                PROP => {
                    let len = be32(blob, pos)? as usize;
                    let name_off = be32(blob, pos + 4)? as usize;
                    let value = blob
                        .get(pos + 8..pos + 8 + len)
                        .ok_or("property value out of bounds")?
                        .to_vec();
                    pos = (pos + 8 + len).next_multiple_of(4);
                    let name = c_string(blob, off_strings + name_off)?;
                    let node = fdt
                        .nodes
                        .get_mut(&Self::join(&path))
                        .ok_or("property outside a node")?;
                    node.props
                        .insert(String::from_utf8_lossy(name).into_owned(), value);
                }
                NOP => {}
                END => break,
                other => return Err(format!("unknown token {other:#x} at {pos:#x}")),
            }
        }
        if !path.is_empty() {
            return Err("unbalanced nodes".into());
        }
        Ok(fdt)
    }

    fn join(path: &[String]) -> String {
        let tail: Vec<&str> = path.iter().skip(1).map(String::as_str).collect();
        format!("/{}", tail.join("/"))
    }

    /// The node at `path`.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every node path.
    pub fn paths(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(Fdt::parse(&[]).is_err());
        assert!(Fdt::parse(&[0; 64]).is_err());
        let mut blob = super::super::fdt::build(&super::super::fdt::DtConfig {
            ram_size: 16 << 20,
            vcpus: 1,
            gic: Some(super::super::layout::GicRegions::qemu_virt(1)),
            bootargs: String::new(),
        })
        .expect("build");
        blob.truncate(blob.len() - 8);
        assert!(Fdt::parse(&blob).is_err());
    }
}
