//! Behaviour tests for the simulator, one group per row of the OTS v1 behaviour table.
