//! SQL text to sqlparser's AST, with the line and column of a syntax error.

use sqlparser::ast::Expr;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// sqlparser's own bound on nesting (parentheses, function arguments, CASE):
/// its parser takes several KiB of stack per level, and the component has
/// 1 MiB. Its default is 50.
const MAX_NESTING: usize = 32;

/// Longer expressions are rejected before parsing: the AST of a very long
/// chain of operators is deep, and dropping or printing it recurses.
pub const MAX_EXPR_BYTES: usize = 8192;

/// Parses one SQL expression; the whole text must be that expression.
pub fn parse_expr(text: &str) -> Result<Expr, String> {
    if text.len() > MAX_EXPR_BYTES {
        return Err(format!("longer than {MAX_EXPR_BYTES} bytes"));
    }
    if text.trim().is_empty() {
        return Err("empty expression".into());
    }
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(text)
        .map_err(|e| describe(e, text))?;
    let expr = parser.parse_expr().map_err(|e| describe(e, text))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        let at = next.span.start;
        return Err(format!(
            "unexpected `{}` after the expression at Line: {}, Column: {}",
            next.token, at.line, at.column
        ));
    }
    Ok(expr)
}

/// sqlparser's message, which gives the line and column of the offending
/// token, except at the end of the text: then the end's position is added.
fn describe(error: ParserError, text: &str) -> String {
    let message = match error {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "the expression nests too deeply".into(),
    };
    if message.contains(" at Line: ") {
        return message;
    }
    let line = text.lines().count().max(1);
    let column = text.lines().last().map_or(0, |l| l.chars().count()) + 1;
    format!("{message} at Line: {line}, Column: {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_a_position() {
        let e = parse_expr("a >").unwrap_err();
        assert!(e.ends_with("at Line: 1, Column: 4"), "{e}");
        let e = parse_expr("a = 1 b").unwrap_err();
        assert_eq!(
            e,
            "unexpected `b` after the expression at Line: 1, Column: 7"
        );
        let e = parse_expr("a = (1").unwrap_err();
        assert!(e.contains("Line: 1"), "{e}");
    }
}
