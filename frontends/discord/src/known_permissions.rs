//! The core refuses permission bits it cannot send (`DISCORD_KNOWN_PERMISSION_BITS`) because
//! `command::register` truncates to what serenity knows. This keeps the two lists equal when
//! serenity is upgraded.

use ots_gateway_core::config::DISCORD_KNOWN_PERMISSION_BITS;
use serenity::all::Permissions;

#[test]
fn the_core_knows_exactly_the_bits_serenity_can_send() {
    assert_eq!(DISCORD_KNOWN_PERMISSION_BITS, Permissions::all().bits());
}
