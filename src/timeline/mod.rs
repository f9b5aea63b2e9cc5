//! Draws the timeline of a session ([`echoctl_core::timeline`]): [`terminal`] as a chart that fits
//! a width, with or without color, and [`svg`] as a picture for a slide.

pub mod svg;
pub mod terminal;
