namespace Service.Inference.Chat.Templates;

/// <summary>A template that cannot be parsed: the message names the line and what was expected.</summary>
public sealed class TemplateSyntaxException(string message) : Exception(message);

/// <summary>A template that fails while rendering (unknown filter, undefined value used, type error).</summary>
public class TemplateRuntimeException(string message) : Exception(message);

/// <summary>The template called `raise_exception(message)`: it refuses the conversation.</summary>
public sealed class TemplateRaisedException(string message) : TemplateRuntimeException(message);

// Statements
public abstract record Node;
public sealed record TextNode(string Text) : Node;
public sealed record OutputNode(Expr Value) : Node;
public sealed record IfNode(Expr Condition, IReadOnlyList<Node> Then, IReadOnlyList<Node> Else) : Node;
public sealed record ForNode(Expr Target, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else) : Node;
public sealed record SetNode(Expr Target, Expr Value) : Node;
public sealed record SetBlockNode(Expr Target, IReadOnlyList<Node> Body, IReadOnlyList<(string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string, Expr)> Kwargs)> Filters) : Node;
public sealed record MacroNode(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Node> Body) : Node;
public sealed record CallBlockNode(Expr Call, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Node> Body) : Node;
public sealed record FilterBlockNode(IReadOnlyList<(string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string, Expr)> Kwargs)> Filters, IReadOnlyList<Node> Body) : Node;
/// <summary>transformers' `{% generation %}` marks assistant text for masks; rendering only keeps its body.</summary>
public sealed record BlockNode(IReadOnlyList<Node> Body) : Node;
public sealed record BreakNode : Node;
public sealed record ContinueNode : Node;

// Expressions
public abstract record Expr;
public sealed record LiteralExpr(object? Value) : Expr;
public sealed record NameExpr(string Name) : Expr;
public sealed record ListExpr(IReadOnlyList<Expr> Items) : Expr;
public sealed record TupleExpr(IReadOnlyList<Expr> Items) : Expr;
public sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items) : Expr;
public sealed record AttributeExpr(Expr Target, string Name) : Expr;
public sealed record IndexExpr(Expr Target, Expr Index) : Expr;
public sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr;
public sealed record CallExpr(Expr Target, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs) : Expr;
public sealed record FilterExpr(Expr Value, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs) : Expr;
public sealed record TestExpr(Expr Value, string Name, IReadOnlyList<Expr> Args, bool Negated) : Expr;
public sealed record UnaryExpr(string Op, Expr Operand) : Expr;
public sealed record BinaryExpr(string Op, Expr Left, Expr Right) : Expr;
/// <summary>`a < b < c`: each comparison on the next operand, all must hold.</summary>
public sealed record CompareExpr(Expr First, IReadOnlyList<(string Op, Expr Operand)> Rest) : Expr;
public sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Else) : Expr;
