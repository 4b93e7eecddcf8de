//! PLACEHOLDER: configuration model (written next).
