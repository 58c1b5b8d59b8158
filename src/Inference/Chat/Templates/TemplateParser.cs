using System.Globalization;

namespace Service.Inference.Chat.Templates;

using FilterCall = (string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string, Expr)> Kwargs);
using Parameter = (string Name, Expr? Default);

/// <summary>
/// Recursive-descent parser of the jinja2 subset chat templates use, with jinja2's precedence:
/// conditional, or, and, not, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary minus,
/// then postfix access, calls, filters (`|`) and tests (`is`).
/// </summary>
public sealed class TemplateParser
{
    readonly List<Token> _tokens;
    int _pos;

    TemplateParser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new TemplateParser(TemplateLexer.Tokenize(source));
        var body = parser.ParseBody(out var end);
        if (end is not null) throw parser.Error($"'{end}' without an opening tag");
        return body;
    }

    Token Current => _tokens[_pos];
    Token Peek(int ahead = 1) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];
    TemplateSyntaxException Error(string message) => new($"line {Current.Line}: {message}");

    bool IsOp(string op) => Current.Kind == TokenKind.Operator && Current.Value == op;
    bool IsName(string name) => Current.Kind == TokenKind.Name && Current.Value == name;

    void ExpectOp(string op)
    {
        if (!IsOp(op)) throw Error($"expected '{op}', found '{Describe(Current)}'");
        _pos++;
    }

    void ExpectName(string name)
    {
        if (!IsName(name)) throw Error($"expected '{name}', found '{Describe(Current)}'");
        _pos++;
    }

    string Name()
    {
        if (Current.Kind != TokenKind.Name) throw Error($"expected a name, found '{Describe(Current)}'");
        return _tokens[_pos++].Value;
    }

    void Expect(TokenKind kind)
    {
        if (Current.Kind != kind) throw Error($"expected the end of the tag, found '{Describe(Current)}'");
        _pos++;
    }

    static string Describe(Token t) => t.Kind switch
    {
        TokenKind.End => "end of template",
        TokenKind.BlockEnd => "%}",
        TokenKind.OutputEnd => "}}",
        _ => t.Value,
    };

    /// <summary>Nodes up to an `{% end... %}`, `{% else %}` or `{% elif %}` tag, whose keyword is returned in <paramref name="end"/> (the tag's name token is left to read).</summary>
    List<Node> ParseBody(out string? end, params string[] enders)
    {
        var nodes = new List<Node>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.End:
                    if (enders.Length > 0) throw Error($"the template ends before '{enders[^1]}'");
                    end = null;
                    return nodes;
                case TokenKind.Text:
                    nodes.Add(new TextNode(t.Value));
                    _pos++;
                    break;
                case TokenKind.OutputStart:
                    _pos++;
                    nodes.Add(new OutputNode(ParseTuple()));
                    Expect(TokenKind.OutputEnd);
                    break;
                case TokenKind.BlockStart:
                    var keyword = Peek();
                    if (keyword.Kind == TokenKind.Name && (enders.Contains(keyword.Value) || keyword.Value.StartsWith("end", StringComparison.Ordinal)))
                    {
                        if (!enders.Contains(keyword.Value)) throw Error($"unexpected '{keyword.Value}'" + (enders.Length > 0 ? $"; expected '{enders[^1]}'" : ""));
                        _pos++;
                        end = keyword.Value;
                        return nodes;
                    }
                    _pos++;
                    nodes.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected '{Describe(t)}'");
            }
        }
    }

    Node ParseStatement()
    {
        var keyword = Name();
        switch (keyword)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "call": return ParseCallBlock();
            case "filter":
                {
                    var filters = ParseFilterChain();
                    Expect(TokenKind.BlockEnd);
                    var body = ParseBody(out _, "endfilter");
                    EndTag();
                    return new FilterBlockNode(filters, body);
                }
            case "generation":
                {
                    Expect(TokenKind.BlockEnd);
                    var body = ParseBody(out _, "endgeneration");
                    EndTag();
                    return new BlockNode(body);
                }
            case "break": Expect(TokenKind.BlockEnd); return new BreakNode();
            case "continue": Expect(TokenKind.BlockEnd); return new ContinueNode();
            default:
                _pos--;
                throw Error($"the statement '{keyword}' is not supported by this template engine");
        }
    }

    void EndTag()
    {
        _pos++; // the end keyword
        Expect(TokenKind.BlockEnd);
    }

    Node ParseIf()
    {
        var condition = ParseExpression();
        Expect(TokenKind.BlockEnd);
        var then = ParseBody(out var end, "elif", "else", "endif");
        IReadOnlyList<Node> otherwise = [];
        if (end == "elif")
        {
            _pos++;
            otherwise = [ParseIf()];
        }
        else if (end == "else")
        {
            EndTag();
            otherwise = ParseBody(out _, "endif");
            EndTag();
        }
        else EndTag();
        return new IfNode(condition, then, otherwise);
    }

    Node ParseFor()
    {
        var target = ParseAssignTarget();
        ExpectName("in");
        var iterable = ParseTuple(allowConditional: false);
        Expr? filter = null;
        if (IsName("if"))
        {
            _pos++;
            filter = ParseExpression();
        }
        if (IsName("recursive")) throw Error("recursive loops are not supported by this template engine");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out var end, "else", "endfor");
        IReadOnlyList<Node> otherwise = [];
        EndTag();
        if (end == "else")
        {
            otherwise = ParseBody(out _, "endfor");
            EndTag();
        }
        return new ForNode(target, iterable, filter, body, otherwise);
    }

    Node ParseSet()
    {
        var target = ParseAssignTarget();
        if (IsOp("="))
        {
            _pos++;
            var value = ParseTuple();
            Expect(TokenKind.BlockEnd);
            return new SetNode(target, value);
        }
        var filters = IsOp("|") ? ParseFilterChain() : [];
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endset");
        EndTag();
        return new SetBlockNode(target, body, filters);
    }

    Node ParseMacro()
    {
        var name = Name();
        var parameters = ParseParameters();
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endmacro");
        EndTag();
        return new MacroNode(name, parameters, body);
    }

    Node ParseCallBlock()
    {
        var parameters = IsOp("(") ? ParseParameters() : [];
        var call = ParseExpression();
        if (call is not CallExpr) throw Error("{% call %} needs a macro call");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out _, "endcall");
        EndTag();
        return new CallBlockNode(call, parameters, body);
    }

    List<Parameter> ParseParameters()
    {
        var parameters = new List<Parameter>();
        ExpectOp("(");
        while (!IsOp(")"))
        {
            if (parameters.Count > 0) ExpectOp(",");
            var name = Name();
            Expr? value = null;
            if (IsOp("="))
            {
                _pos++;
                value = ParseExpression();
            }
            parameters.Add((name, value));
        }
        _pos++;
        return parameters;
    }

    /// <summary>`name`, `ns.attribute`, or `a, b` (unpacking).</summary>
    Expr ParseAssignTarget()
    {
        var targets = new List<Expr>();
        do
        {
            if (targets.Count > 0) _pos++;
            if (IsOp("(") ) { _pos++; targets.Add(ParseAssignTarget()); ExpectOp(")"); continue; }
            Expr target = new NameExpr(Name());
            if (IsOp("."))
            {
                _pos++;
                target = new AttributeExpr(target, Name());
            }
            targets.Add(target);
        } while (IsOp(","));
        return targets.Count == 1 ? targets[0] : new TupleExpr(targets);
    }

    List<FilterCall> ParseFilterChain()
    {
        var filters = new List<FilterCall>();
        do
        {
            if (IsOp("|")) _pos++;
            filters.Add(ParseFilterCall());
        } while (IsOp("|"));
        return filters;
    }

    FilterCall ParseFilterCall()
    {
        var name = Name();
        while (IsOp(".")) { _pos++; name += "." + Name(); }
        var (args, kwargs) = IsOp("(") ? ParseArguments() : ([], []);
        return (name, args, kwargs.Select(k => (k.Name, k.Value)).ToList());
    }

    /// <summary>An expression, or several separated by commas (a tuple without parentheses).</summary>
    Expr ParseTuple(bool allowConditional = true)
    {
        var first = allowConditional ? ParseExpression() : ParseOr();
        if (!IsOp(",")) return first;
        var items = new List<Expr> { first };
        while (IsOp(","))
        {
            _pos++;
            if (Current.Kind is TokenKind.BlockEnd or TokenKind.OutputEnd || IsName("if")) break;
            items.Add(allowConditional ? ParseExpression() : ParseOr());
        }
        return new TupleExpr(items);
    }

    public Expr ParseExpression()
    {
        var value = ParseOr();
        if (!IsName("if")) return value;
        _pos++;
        var condition = ParseOr();
        Expr? otherwise = null;
        if (IsName("else"))
        {
            _pos++;
            otherwise = ParseExpression();
        }
        return new ConditionalExpr(condition, value, otherwise);
    }

    Expr ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or")) { _pos++; left = new BinaryExpr("or", left, ParseAnd()); }
        return left;
    }

    Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and")) { _pos++; left = new BinaryExpr("and", left, ParseNot()); }
        return left;
    }

    Expr ParseNot()
    {
        if (IsName("not")) { _pos++; return new UnaryExpr("not", ParseNot()); }
        return ParseCompare();
    }

    Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                var op = Current.Value;
                _pos++;
                rest.Add((op, ParseMath1()));
            }
            else if (IsName("in")) { _pos++; rest.Add(("in", ParseMath1())); }
            else if (IsName("not") && Peek().Kind == TokenKind.Name && Peek().Value == "in") { _pos += 2; rest.Add(("not in", ParseMath1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest);
    }

    Expr ParseMath1()
    {
        var left = ParseConcat();
        while (IsOp("+") || IsOp("-"))
        {
            var op = _tokens[_pos++].Value;
            left = new BinaryExpr(op, left, ParseConcat());
        }
        return left;
    }

    Expr ParseConcat()
    {
        var left = ParseMath2();
        while (IsOp("~")) { _pos++; left = new BinaryExpr("~", left, ParseMath2()); }
        return left;
    }

    Expr ParseMath2()
    {
        var left = ParsePow();
        while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%"))
        {
            var op = _tokens[_pos++].Value;
            left = new BinaryExpr(op, left, ParsePow());
        }
        return left;
    }

    Expr ParsePow()
    {
        var left = ParseUnary(withFilters: true);
        while (IsOp("**")) { _pos++; left = new BinaryExpr("**", left, ParseUnary(withFilters: true)); }
        return left;
    }

    Expr ParseUnary(bool withFilters)
    {
        Expr node;
        if (IsOp("-")) { _pos++; node = new UnaryExpr("-", ParseUnary(withFilters: false)); }
        else if (IsOp("+")) { _pos++; node = new UnaryExpr("+", ParseUnary(withFilters: false)); }
        else node = ParsePostfix(ParsePrimary());
        return withFilters ? ParseFiltersAndTests(node) : node;
    }

    Expr ParseFiltersAndTests(Expr node)
    {
        while (true)
        {
            if (IsOp("|"))
            {
                _pos++;
                var (name, args, kwargs) = ParseFilterCall();
                node = new FilterExpr(node, name, args, kwargs);
            }
            else if (IsName("is"))
            {
                _pos++;
                bool negated = false;
                if (IsName("not")) { _pos++; negated = true; }
                var name = Name();
                while (IsOp(".")) { _pos++; name += "." + Name(); }
                IReadOnlyList<Expr> args = [];
                if (IsOp("(")) args = ParseArguments().Args;
                else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float || IsOp("[") || IsOp("{"))
                         && !IsName("else") && !IsName("or") && !IsName("and"))
                    args = [ParsePostfix(ParsePrimary())];
                node = new TestExpr(node, name, args, negated);
            }
            else if (IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _pos++;
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(true),
                    "false" or "False" => new LiteralExpr(false),
                    "none" or "None" => new LiteralExpr(null),
                    _ => new NameExpr(t.Value),
                };
            case TokenKind.String:
                {
                    var text = "";
                    while (Current.Kind == TokenKind.String) text += _tokens[_pos++].Value;
                    return new LiteralExpr(new TemplateText(text));
                }
            case TokenKind.Integer:
                _pos++;
                return new LiteralExpr(long.Parse(t.Value, CultureInfo.InvariantCulture));
            case TokenKind.Float:
                _pos++;
                return new LiteralExpr(double.Parse(t.Value, CultureInfo.InvariantCulture));
            case TokenKind.Operator when t.Value == "(":
                {
                    _pos++;
                    if (IsOp(")")) { _pos++; return new TupleExpr([]); }
                    var first = ParseExpression();
                    if (IsOp(")")) { _pos++; return first; }
                    var items = new List<Expr> { first };
                    while (IsOp(","))
                    {
                        _pos++;
                        if (IsOp(")")) break;
                        items.Add(ParseExpression());
                    }
                    ExpectOp(")");
                    return new TupleExpr(items);
                }
            case TokenKind.Operator when t.Value == "[":
                {
                    _pos++;
                    var items = new List<Expr>();
                    while (!IsOp("]"))
                    {
                        if (items.Count > 0) { ExpectOp(","); if (IsOp("]")) break; }
                        items.Add(ParseExpression());
                    }
                    _pos++;
                    return new ListExpr(items);
                }
            case TokenKind.Operator when t.Value == "{":
                {
                    _pos++;
                    var items = new List<(Expr, Expr)>();
                    while (!IsOp("}"))
                    {
                        if (items.Count > 0) { ExpectOp(","); if (IsOp("}")) break; }
                        var key = ParseExpression();
                        ExpectOp(":");
                        items.Add((key, ParseExpression()));
                    }
                    _pos++;
                    return new DictExpr(items);
                }
            default:
                throw Error($"unexpected '{Describe(t)}'");
        }
    }

    Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (IsOp("."))
            {
                _pos++;
                if (Current.Kind == TokenKind.Integer) node = new IndexExpr(node, new LiteralExpr(long.Parse(_tokens[_pos++].Value, CultureInfo.InvariantCulture)));
                else node = new AttributeExpr(node, Name());
            }
            else if (IsOp("[")) node = ParseSubscript(node);
            else if (IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    Expr ParseSubscript(Expr target)
    {
        ExpectOp("[");
        Expr? start = null, stop = null, step = null;
        if (!IsOp(":")) start = ParseExpression();
        if (!IsOp(":"))
        {
            ExpectOp("]");
            return new IndexExpr(target, start!);
        }
        _pos++;
        if (!IsOp(":") && !IsOp("]")) stop = ParseExpression();
        if (IsOp(":"))
        {
            _pos++;
            if (!IsOp("]")) step = ParseExpression();
        }
        ExpectOp("]");
        return new SliceExpr(target, start, stop, step);
    }

    Expr ParseCall(Expr target)
    {
        var (args, kwargs) = ParseArguments();
        return new CallExpr(target, args, kwargs);
    }

    (List<Expr> Args, List<(string Name, Expr Value)> Kwargs) ParseArguments()
    {
        ExpectOp("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (args.Count + kwargs.Count > 0) { ExpectOp(","); if (IsOp(")")) break; }
            if (Current.Kind == TokenKind.Name && Peek().Kind == TokenKind.Operator && Peek().Value == "=")
            {
                var name = Name();
                _pos++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error("a positional argument follows a keyword argument");
                args.Add(ParseExpression());
            }
        }
        _pos++;
        return (args, kwargs);
    }
}
