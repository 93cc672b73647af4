#[cfg(test)]
mod probe {
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;
    #[test]
    fn probe() {
        for s in [
            "unique(customer_id)",
            "unique(a, b)",
            "x IN (1, NULL)",
            "substring(s, 1, 2)",
            "SUBSTRING(s FROM 2 FOR 3)",
            "trim(s)",
            "TRIM(BOTH 'x' FROM s)",
            "length(\"Col\") = 2",
            "x::int",
            "DATE '2026-01-01'",
            "TIMESTAMP '2026-01-01T00:00:00Z'",
            "CAST(x AS DECIMAL(12,2))",
            "CAST(x AS STRING)",
            "CAST(x AS VARCHAR)",
            "x IS NOT TRUE",
            "a != b",
            "a <> b",
            "1.50",
            "1e3",
            "regexp_like(s, '^a')",
            "s RLIKE 'a'",
            "CASE x WHEN 1 THEN 'a' END",
            "row_count BETWEEN 1 AND 10",
            "a > ",
            "a >> b",
            "a = 1 b",
            "x LIKE 'a%' ESCAPE '!'",
            "-x",
            "- 5",
            "coalesce(a, b)",
            "NOT a = b",
            "'it''s'",
        ] {
            let dialect = GenericDialect {};
            let r = Parser::new(&dialect).try_with_sql(s).and_then(|mut p| {
                let e = p.parse_expr()?;
                let t = p.peek_token();
                Ok((e, t))
            });
            match r {
                Ok((e, t)) => println!("{s:40} => {e:?}\n      next {t:?}"),
                Err(e) => println!("{s:40} => ERR {e}"),
            }
        }
    }
}
