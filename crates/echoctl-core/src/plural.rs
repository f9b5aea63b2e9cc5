//! Counts of things in messages: `1 connection`, `3 connections`, `1 echo`, `2 echoes`. One helper
//! for every message that counts something, so that none says `1 connections`.

/// `n` and `noun`, the noun plural unless `n` is one: `1 shout`, `0 shouts`, `2 echo lines`.
pub fn counted<N: std::fmt::Display + PartialEq + From<u8>>(n: N, noun: &str) -> String {
    if n == N::from(1) {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// The plural of an English `noun` as echoctl's messages use them: `echo` → `echoes`, `switch`
/// → `switches`, `line` → `lines`. Of several words, the last is made plural.
pub fn plural(noun: &str) -> String {
    let ends_in = |ending: &[&str]| ending.iter().any(|e| noun.ends_with(e));
    if ends_in(&["o", "s", "x", "ch", "sh"]) {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "connection"), "1 connection");
        assert_eq!(counted(0, "shout"), "0 shouts");
        assert_eq!(counted(9, "echo line"), "9 echo lines");
        assert_eq!(counted(1, "echo"), "1 echo");
        assert_eq!(counted(2, "echo"), "2 echoes");
        assert_eq!(counted(2, "context switch"), "2 context switches");
        assert_eq!(counted(1u32, "byte"), "1 byte");
        assert_eq!(counted(4096usize, "byte"), "4096 bytes");
    }
}
