using static Service.Inference.Chat.Templates.TemplateValues;

namespace Service.Inference.Chat.Templates;

/// <summary>Expressions with Python's semantics as jinja2 evaluates them.</summary>
sealed partial class TemplateEvaluator
{
    public object? Evaluate(Expr expr, TemplateScope scope)
    {
        switch (expr)
        {
            case LiteralExpr l: return l.Value;
            case NameExpr n: return scope.Lookup(n.Name);
            case ListExpr l: return l.Items.Select(i => Evaluate(i, scope)).ToList();
            case TupleExpr t: return t.Items.Select(i => Evaluate(i, scope)).ToArray();
            case DictExpr d:
                {
                    var dict = new TemplateDict();
                    foreach (var (k, v) in d.Items) dict[Key(Evaluate(k, scope))] = Evaluate(v, scope);
                    return dict;
                }
            case AttributeExpr a: return GetAttribute(Evaluate(a.Target, scope), a.Name);
            case IndexExpr i: return GetItem(Evaluate(i.Target, scope), Evaluate(i.Index, scope));
            case SliceExpr s:
                return Slice(Evaluate(s.Target, scope), s.Start is null ? null : Evaluate(s.Start, scope),
                    s.Stop is null ? null : Evaluate(s.Stop, scope), s.Step is null ? null : Evaluate(s.Step, scope));
            case CallExpr c: return Call(c, scope, caller: null);
            case FilterExpr f: return ApplyFilter(f.Name, Evaluate(f.Value, scope), f.Args, f.Kwargs, scope);
            case TestExpr t:
                {
                    bool result = ApplyTest(t.Name, Evaluate(t.Value, scope), [.. t.Args.Select(a => Evaluate(a, scope))]);
                    return t.Negated ? !result : result;
                }
            case UnaryExpr u:
                {
                    var v = Evaluate(u.Operand, scope);
                    return u.Op switch
                    {
                        "not" => !Truthy(v),
                        "-" => v switch { long l => (object)-l, double d => -d, bool b => b ? -1L : 0L, _ => throw OperandError("-", v) },
                        _ => v is long or double or bool ? v : throw OperandError("+", v),
                    };
                }
            case BinaryExpr { Op: "and" } b:
                {
                    var left = Evaluate(b.Left, scope);
                    return Truthy(left) ? Evaluate(b.Right, scope) : left;
                }
            case BinaryExpr { Op: "or" } b:
                {
                    var left = Evaluate(b.Left, scope);
                    return Truthy(left) ? left : Evaluate(b.Right, scope);
                }
            case BinaryExpr b: return Binary(b.Op, Evaluate(b.Left, scope), Evaluate(b.Right, scope));
            case CompareExpr c:
                {
                    var left = Evaluate(c.First, scope);
                    foreach (var (op, operand) in c.Rest)
                    {
                        var right = Evaluate(operand, scope);
                        if (!Compare(op, left, right)) return false;
                        left = right;
                    }
                    return true;
                }
            case ConditionalExpr c:
                return Truthy(Evaluate(c.Condition, scope)) ? Evaluate(c.Then, scope)
                    : c.Else is null ? new Undefined("the else branch of an if expression") : Evaluate(c.Else, scope);
            default:
                throw new TemplateRuntimeException($"unknown expression {expr.GetType().Name}");
        }
    }

    static object Key(object? key) => key ?? throw new TemplateRuntimeException("None cannot be a dict key here");

    static TemplateRuntimeException OperandError(string op, object? a, object? b = null)
    {
        if (a is Undefined u) return u.Error();
        if (b is Undefined v) return v.Error();
        return new($"unsupported operand type(s) for {op}: '{TypeName(a)}'" + (b is null && op is "-" or "+" ? "" : $" and '{TypeName(b)}'"));
    }

    static object? Binary(string op, object? a, object? b)
    {
        if (op == "~") return TemplateText.Concat(ToText(a), ToText(b));
        if (a is Undefined || b is Undefined) throw OperandError(op, a, b);
        switch (op)
        {
            case "+":
                return (a, b) switch
                {
                    (TemplateText x, TemplateText y) => TemplateText.Concat(x, y),
                    (List<object?> x, List<object?> y) => (object)x.Concat(y).ToList(),
                    (object?[] x, object?[] y) => x.Concat(y).ToArray(),
                    _ => Arithmetic(op, a, b),
                };
            case "*":
                return (a, b) switch
                {
                    (TemplateText x, long n) => Repeat(x, n),
                    (long n, TemplateText x) => Repeat(x, n),
                    (List<object?> x, long n) => Enumerable.Repeat(x, (int)Math.Max(0, n)).SelectMany(l => l).ToList(),
                    _ => Arithmetic(op, a, b),
                };
            case "%" when a is TemplateText format:
                return TemplateStrings.PercentFormat(format, b is object?[] t ? t : [b]);
            default:
                return Arithmetic(op, a, b);
        }
    }

    static TemplateText Repeat(TemplateText x, long n)
    {
        var builder = new TemplateText.Builder();
        for (long i = 0; i < n; i++) builder.Append(x);
        return builder.Build();
    }

    static object Arithmetic(string op, object? a, object? b)
    {
        if (a is not (long or double or bool) || b is not (long or double or bool)) throw OperandError(op, a, b);
        if (a is not double && b is not double && op != "/")
        {
            long x = a is bool p ? (p ? 1 : 0) : (long)a, y = b is bool q ? (q ? 1 : 0) : (long)b;
            switch (op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "//": return y == 0 ? throw DivisionByZero() : FloorDiv(x, y);
                case "%": return y == 0 ? throw DivisionByZero() : x - FloorDiv(x, y) * y;
                case "**" when y >= 0: return (long)Math.Pow(x, y);
            }
        }
        double dx = ToDouble(a), dy = ToDouble(b);
        return op switch
        {
            "+" => dx + dy,
            "-" => dx - dy,
            "*" => dx * dy,
            "/" => dy == 0 ? throw DivisionByZero() : dx / dy,
            "//" => dy == 0 ? throw DivisionByZero() : Math.Floor(dx / dy),
            "%" => dy == 0 ? throw DivisionByZero() : dx - Math.Floor(dx / dy) * dy,
            "**" => Math.Pow(dx, dy),
            _ => throw new TemplateRuntimeException($"unknown operator {op}"),
        };
    }

    static long FloorDiv(long x, long y)
    {
        long q = x / y;
        return x % y != 0 && (x < 0) != (y < 0) ? q - 1 : q;
    }

    static TemplateRuntimeException DivisionByZero() => new("division by zero");

    static bool Compare(string op, object? a, object? b) => op switch
    {
        "==" => TemplateValues.Equals(a, b),
        "!=" => !TemplateValues.Equals(a, b),
        "<" => Order(a, b) < 0,
        "<=" => Order(a, b) <= 0,
        ">" => Order(a, b) > 0,
        ">=" => Order(a, b) >= 0,
        "in" => Contains(b, a),
        "not in" => !Contains(b, a),
        _ => throw new TemplateRuntimeException($"unknown comparison {op}"),
    };

    static int Order(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) throw OperandError("<", a, b);
        return TemplateValues.Compare(a, b);
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        TemplateText text => item is TemplateText t ? text.Text.Contains(t.Text, StringComparison.Ordinal)
            : throw new TemplateRuntimeException($"'in <string>' requires string as left operand, not {TypeName(item)}"),
        TemplateDict dict => item is not null && dict.ContainsKey(item),
        Undefined => false,
        _ => Iterate(container).Any(x => TemplateValues.Equals(x, item)),
    };

    /// <summary>jinja2's `a.b`: a Python attribute (methods of str, dict, list) first, then the item.</summary>
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined u: throw u.Error();
            case Namespace ns: return ns.Attributes.TryGetValue(name, out var v) ? v : new Undefined(name);
            case LoopInfo loop: return loop.Attribute(name);
        }
        return TemplateMethods.Bind(target, name) ?? Item(target, new TemplateText(name), name);
    }

    /// <summary>jinja2's `a[b]`: the item first, then the attribute of that name.</summary>
    public static object? GetItem(object? target, object? key)
    {
        if (target is Undefined u) throw u.Error();
        var item = Item(target, key, TypeName(key));
        if (item is Undefined && key is TemplateText name)
            return target is Namespace or LoopInfo ? GetAttribute(target, name.Text) : TemplateMethods.Bind(target, name.Text) ?? item;
        return item;
    }

    static object? Item(object? target, object? key, string name)
    {
        switch (target)
        {
            case TemplateDict dict:
                return key is not null && dict.TryGetValue(key, out var v) ? v : new Undefined(name);
            case List<object?> or object?[] or TemplateText when key is long or bool:
                {
                    long index = key is bool b ? (b ? 1 : 0) : (long)key;
                    int count = target is TemplateText t ? t.CodePointCount : ((System.Collections.ICollection)target).Count;
                    if (index < 0) index += count;
                    if (index < 0 || index >= count) return new Undefined($"index {key}");
                    return target switch
                    {
                        TemplateText s => s.CodePoint((int)index),
                        List<object?> l => l[(int)index],
                        _ => ((object?[])target)[(int)index],
                    };
                }
            default:
                return new Undefined(name);
        }
    }

    static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is Undefined u) throw u.Error();
        long Int(object? v, string what) => v is long l ? l : v is bool b ? (b ? 1 : 0) : throw new TemplateRuntimeException($"slice {what} must be an integer");
        long st = step is null ? 1 : Int(step, "step");
        if (st == 0) throw new TemplateRuntimeException("slice step cannot be zero");
        int count = target switch
        {
            TemplateText t => t.CodePointCount,
            List<object?> l => l.Count,
            object?[] a => a.Length,
            _ => throw new TemplateRuntimeException($"'{TypeName(target)}' object cannot be sliced"),
        };
        // Python's slice.indices: clamp negative and out-of-range bounds.
        long Bound(object? v, long missing, long low, long high)
        {
            if (v is null) return missing;
            long x = Int(v, "bound");
            if (x < 0) x += count;
            return Math.Clamp(x, low, high);
        }
        long from = st > 0 ? Bound(start, 0, 0, count) : Bound(start, count - 1, -1, count - 1);
        long to = st > 0 ? Bound(stop, count, 0, count) : Bound(stop, -1, -1, count - 1);
        var indexes = new List<int>();
        for (long i = from; st > 0 ? i < to : i > to; i += st) indexes.Add((int)i);
        return target switch
        {
            TemplateText t when st == 1 => t.CodePoints((int)from, (int)to),
            TemplateText t => indexes.Aggregate(new TemplateText.Builder(), (b, i) => b.Append(t.CodePoint(i))).Build(),
            List<object?> l => indexes.Select(i => l[i]).ToList(),
            _ => indexes.Select(i => ((object?[])target)[i]).ToArray(),
        };
    }

    object? Call(CallExpr call, TemplateScope scope, TemplateFunction? caller)
    {
        var target = Evaluate(call.Target, scope);
        var args = call.Args.Select(a => Evaluate(a, scope)).ToList();
        var kwargs = new Dictionary<string, object?>();
        foreach (var (name, value) in call.Kwargs) kwargs[name] = Evaluate(value, scope);
        if (caller is not null) kwargs["caller"] = caller;
        return target switch
        {
            TemplateFunction f => f(args, kwargs),
            Undefined u => throw new TemplateRuntimeException($"'{u.Name}' is undefined and cannot be called"),
            _ => throw new TemplateRuntimeException($"'{TypeName(target)}' object is not callable"),
        };
    }
}
