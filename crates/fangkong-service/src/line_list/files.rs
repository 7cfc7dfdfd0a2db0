//! CSV line lists in and out.
