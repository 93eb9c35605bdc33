//! Paging over a sorted index, for the fleet views of both services: page
//! sizes with a default and a bound, and page tokens. A token names the
//! last index entry a page read and the filter it was read with, so that a
//! token can neither be replayed with another filter nor point anywhere but
//! just after an entry; anything else is refused naming the field.

use std::collections::BTreeSet;

use crate::auth::{Orgs, Principal};
use crate::input::{InvalidInput, OrgId};

/// The orgs a caller may see in a fleet view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every org: a token for `*`, or authentication off.
    Every,
    /// These orgs only, in order: a token scoped to some orgs (whatever its
    /// role: an admin token for `acme` sees `acme`).
    Only(BTreeSet<OrgId>),
}

impl Scope {
    /// The orgs `principal` may see; every org without authentication.
    pub fn of(principal: Option<&Principal>) -> Self {
        match principal.map(|p| &p.orgs) {
            None | Some(Orgs::All) => Self::Every,
            // An org id the token names that no org could have is never listed.
            Some(Orgs::Only(orgs)) => {
                Self::Only(orgs.iter().filter_map(|o| OrgId::parse(o).ok()).collect())
            }
        }
    }
}

/// Page sizes of the fleet views: the default and the most one page holds.
#[derive(Clone, Copy, Debug)]
pub struct PageLimits {
    /// When the request says 0.
    pub default: usize,
    /// The largest page a caller may ask for.
    pub max: usize,
}

/// Reads a requested page size: 0 is the default; above the most, refused.
pub fn page_size(field: &str, size: u32, limits: PageLimits) -> Result<usize, InvalidInput> {
    match size as usize {
        0 => Ok(limits.default),
        n if n > limits.max => Err(InvalidInput::new(
            field,
            format!("must be at most {}", limits.max),
        )),
        n => Ok(n),
    }
}

/// The last index entry a page read, as a token for the next page. `filter`
/// names what the page was read with.
pub fn token(filter: &str, after: &str) -> String {
    let mut out = String::with_capacity(2 * (filter.len() + after.len() + 1));
    for b in filter.bytes().chain([b'\n']).chain(after.bytes()) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Reads a page token given with `filter`: `None` for the first page (an
/// empty token); the index entry it names otherwise, once `entry` accepts
/// it. Anything else is refused naming `field`.
pub fn read_token<T>(
    field: &str,
    text: &str,
    filter: &str,
    entry: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, InvalidInput> {
    if text.is_empty() {
        return Ok(None);
    }
    let refused = || {
        InvalidInput::new(
            field,
            "must be the next_page_token of a page read with the same filter",
        )
    };
    if !text.len().is_multiple_of(2) || text.len() > 1_024 {
        return Err(refused());
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(text.get(i..i + 2).ok_or_else(refused)?, 16).map_err(|_| refused())
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
    let (given, after) = text.split_once('\n').ok_or_else(refused)?;
    if given != filter {
        return Err(refused());
    }
    entry(after).map(Some).ok_or_else(refused)
}
