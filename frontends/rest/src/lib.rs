//! The OTS v1 API surface, served by axum (work in progress).
