//! The mcp frontend (work in progress).
