//! The filter tokenizer: turns filter text into tokens carrying their
//! character offsets so parse errors can point at the source.

use super::{QueryError, err};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Has,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    Minus,
    Star,
    Op(Op),
    Str(String),
    Word(String),
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Character offset in the filter, for error messages.
    pub(super) at: usize,
    /// The source text, for error messages.
    pub(super) text: String,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        let next = chars.get(i + 1).copied();
        i += 1;
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '*' => Tok::Star,
            '=' => Tok::Op(Op::Eq),
            ':' => Tok::Op(Op::Has),
            '!' if next == Some('=') => {
                i += 1;
                Tok::Op(Op::Ne)
            }
            '<' | '>' if next == Some('=') => {
                i += 1;
                Tok::Op(if c == '<' { Op::Le } else { Op::Ge })
            }
            '<' => Tok::Op(Op::Lt),
            '>' => Tok::Op(Op::Gt),
            // A minus glued to a digit is a negative number, otherwise it is NOT.
            '-' if !next.is_some_and(|n| n.is_ascii_digit()) => Tok::Minus,
            '"' | '\'' => {
                let mut s = String::new();
                loop {
                    match chars.get(i).copied() {
                        None => {
                            return Err(err(format!(
                                "unterminated string starting at offset {start}"
                            )));
                        }
                        Some('\\') => {
                            let escaped = chars.get(i + 1).copied().ok_or_else(|| {
                                err(format!("unterminated string starting at offset {start}"))
                            })?;
                            s.push(match escaped {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                            i += 2;
                        }
                        Some(q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                Tok::Str(s)
            }
            c if c == '-' || is_word_char(c) => {
                while chars.get(i).is_some_and(|&n| is_word_char(n)) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other => {
                return Err(err(format!(
                    "unexpected character {:?} at offset {start}",
                    other.to_string()
                )));
            }
        };
        out.push(Token {
            tok,
            at: start,
            text: chars[start..i].iter().collect(),
        });
    }
    Ok(out)
}

impl Token {
    /// The token as quoted in error messages: strings as written, others in quotes.
    pub(super) fn shown(&self) -> String {
        match self.tok {
            Tok::Str(_) => self.text.clone(),
            _ => format!("{:?}", self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<(Tok, usize)> {
        lex(src)
            .expect(src)
            .into_iter()
            .map(|t| (t.tok, t.at))
            .collect()
    }

    #[test]
    fn tokens_carry_character_offsets() {
        let word = |s: &str| Tok::Word(s.into());
        assert_eq!(
            toks("-é>=-1.5 (x!=\"a\\\"b\")*:<<=>"),
            vec![
                (Tok::Minus, 0),
                (word("é"), 1),
                (Tok::Op(Op::Ge), 2),
                (word("-1.5"), 4),
                (Tok::LParen, 9),
                (word("x"), 10),
                (Tok::Op(Op::Ne), 11),
                (Tok::Str("a\"b".into()), 13),
                (Tok::RParen, 19),
                (Tok::Star, 20),
                (Tok::Op(Op::Has), 21),
                (Tok::Op(Op::Lt), 22),
                (Tok::Op(Op::Le), 23),
                (Tok::Op(Op::Gt), 25),
            ]
        );
    }

    #[test]
    fn shown_keeps_string_quotes_as_written() {
        let tokens = lex("'a' b").expect("lexes");
        let shown: Vec<String> = tokens.iter().map(Token::shown).collect();
        assert_eq!(shown, vec!["'a'", "\"b\""]);
    }
}
