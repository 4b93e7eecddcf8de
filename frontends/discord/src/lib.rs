//! The discord frontend (work in progress).
