//! Type-checked expressions: what the planner makes of the SQL and the
//! evaluator runs. Every operand already has the type its operator needs
//! (casts are explicit nodes), so evaluation never decides types.

use arrow_array::ArrayRef;
use arrow_schema::DataType;

#[derive(Debug, Clone)]
pub struct Typed {
    pub node: Node,
    /// The type of the values the node evaluates to.
    pub ty: DataType,
    /// The SQL it came from, for error messages.
    pub sql: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `IS DISTINCT FROM`: never NULL.
    Distinct,
    NotDistinct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseMap {
    Lower,
    Upper,
}

#[derive(Debug, Clone)]
pub enum Node {
    /// The input column at this index, brought to its evaluation type.
    Column(usize),
    /// One value (an array of length one) standing for every row.
    Const(ArrayRef),
    /// Casts to the node's type; a value that does not fit becomes NULL.
    Cast(Box<Typed>),
    Not(Box<Typed>),
    And(Box<Typed>, Box<Typed>),
    Or(Box<Typed>, Box<Typed>),
    /// Both sides have the same type.
    Compare(CmpOp, Box<Typed>, Box<Typed>),
    /// All three have the same type; bounds inclusive.
    Between {
        input: Box<Typed>,
        low: Box<Typed>,
        high: Box<Typed>,
        negated: bool,
    },
    /// The input and every item have the same type.
    InList {
        input: Box<Typed>,
        list: Vec<Typed>,
        negated: bool,
    },
    IsNull {
        input: Box<Typed>,
        negated: bool,
    },
    /// `IS [NOT] TRUE` / `IS [NOT] FALSE`: never NULL.
    Truth {
        input: Box<Typed>,
        value: bool,
        negated: bool,
    },
    Like {
        input: Box<Typed>,
        pattern: Box<Typed>,
        negated: bool,
        case_insensitive: bool,
    },
    Regex {
        input: Box<Typed>,
        pattern: Box<Typed>,
        /// Regex flags such as `i`, a constant.
        flags: Option<String>,
        negated: bool,
    },
    /// Operands cast as the operator needs (see `planner::arith_operands`).
    Arith(ArithOp, Box<Typed>, Box<Typed>),
    Neg(Box<Typed>),
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`. With an operand each
    /// `WHEN` value has the operand's type; without, each is Boolean. Every
    /// result has the node's type.
    Case {
        operand: Option<Box<Typed>>,
        branches: Vec<(Typed, Typed)>,
        otherwise: Option<Box<Typed>>,
    },
    Coalesce(Vec<Typed>),
    /// Characters, not bytes.
    Length(Box<Typed>),
    CaseMap(CaseMap, Box<Typed>),
    Trim {
        input: Box<Typed>,
        /// The characters to strip, a constant.
        chars: Vec<char>,
        leading: bool,
        trailing: bool,
    },
    /// 1-based `start`, optional `len`, both Int64.
    Substring {
        input: Box<Typed>,
        start: Box<Typed>,
        len: Option<Box<Typed>>,
    },
}

impl Typed {
    pub fn new(node: Node, ty: DataType, sql: impl Into<String>) -> Typed {
        Typed {
            node,
            ty,
            sql: sql.into(),
        }
    }

    pub fn constant(&self) -> Option<&ArrayRef> {
        match &self.node {
            Node::Const(a) => Some(a),
            _ => None,
        }
    }

    pub fn is_const(&self) -> bool {
        self.constant().is_some()
    }

    /// The direct operands, to fold constants and find the columns used.
    pub fn children(&self) -> Vec<&Typed> {
        match &self.node {
            Node::Column(_) | Node::Const(_) => Vec::new(),
            Node::Cast(x)
            | Node::Not(x)
            | Node::Neg(x)
            | Node::Length(x)
            | Node::CaseMap(_, x)
            | Node::IsNull { input: x, .. }
            | Node::Truth { input: x, .. }
            | Node::Trim { input: x, .. } => vec![x],
            Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::Arith(_, a, b) => {
                vec![a, b]
            }
            Node::Like { input, pattern, .. } | Node::Regex { input, pattern, .. } => {
                vec![input, pattern]
            }
            Node::Between {
                input, low, high, ..
            } => vec![input, low, high],
            Node::InList { input, list, .. } => {
                let mut all = vec![input.as_ref()];
                all.extend(list);
                all
            }
            Node::Case {
                operand,
                branches,
                otherwise,
            } => {
                let mut all: Vec<&Typed> = operand.iter().map(AsRef::as_ref).collect();
                for (when, then) in branches {
                    all.push(when);
                    all.push(then);
                }
                all.extend(otherwise.iter().map(AsRef::as_ref));
                all
            }
            Node::Coalesce(args) => args.iter().collect(),
            Node::Substring { input, start, len } => {
                let mut all = vec![input.as_ref(), start.as_ref()];
                all.extend(len.iter().map(AsRef::as_ref));
                all
            }
        }
    }

    /// Adds the indices of the input columns this reads to `out`.
    pub fn columns(&self, out: &mut Vec<usize>) {
        if let Node::Column(i) = self.node
            && !out.contains(&i)
        {
            out.push(i);
        }
        for child in self.children() {
            child.columns(out);
        }
    }
}
