//! The web bundle built by `build.rs` from `web/`, embedded gzip-compressed.

use std::collections::HashMap;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub content_type: &'static str,
    /// The file, gzip-compressed.
    pub gzip: &'static [u8],
    /// A tag for `ETag`: changes when the file does.
    pub etag: u64,
}

fn index() -> &'static HashMap<&'static str, Asset> {
    static INDEX: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    INDEX.get_or_init(|| {
        ASSETS
            .iter()
            .map(|&(path, content_type, gzip)| {
                (
                    path,
                    Asset {
                        content_type,
                        gzip,
                        etag: fnv1a(gzip),
                    },
                )
            })
            .collect()
    })
}

/// The file at `path` in the bundle (`public.html`, `assets/app-….js`).
pub fn get(path: &str) -> Option<Asset> {
    index().get(path).copied()
}

/// Every path in the bundle.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|&(path, _, _)| path)
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
