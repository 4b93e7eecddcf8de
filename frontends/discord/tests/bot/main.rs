//! The Discord frontend's tests: the pure core over fixtures (`respond`, `perform`) and a real
//! serenity client against an in-process fake Discord (`end_to_end`).

mod end_to_end;
mod fake;
mod fixtures;
mod support;

mod perform;
mod respond;
