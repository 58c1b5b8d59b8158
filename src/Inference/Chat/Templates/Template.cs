namespace Service.Inference.Chat.Templates;

/// <summary>
/// A parsed jinja2 template, rendered with the semantics transformers gives chat templates:
/// jinja2's default Undefined, trim_blocks and lstrip_blocks, the loopcontrols extension
/// (`break`, `continue`), `{% generation %}` blocks, and the globals `raise_exception`,
/// `strftime_now`, `namespace`, `range`, `dict`. Written here because no Jinja engine for .NET is
/// served; @huggingface/jinja and Python's jinja2 are its references in the tests.
/// </summary>
public sealed class Template
{
    readonly IReadOnlyList<Node> _nodes;

    Template(IReadOnlyList<Node> nodes) => _nodes = nodes;

    /// <exception cref="TemplateSyntaxException">The source is not a template this engine reads.</exception>
    public static Template Parse(string source) => new(TemplateParser.Parse(source));

    /// <summary>Renders with the given variables; the result marks which characters came from content strings.</summary>
    /// <exception cref="TemplateRuntimeException">The template failed or called raise_exception.</exception>
    public TemplateText Render(IReadOnlyDictionary<string, object?> variables)
    {
        var root = new TemplateScope(null);
        TemplateGlobals.AddTo(root);
        foreach (var (name, value) in variables) root.Set(name, value);
        var output = new TemplateText.Builder();
        new TemplateEvaluator().Render(_nodes, root, output);
        return output.Build();
    }
}

/// <summary>Walks the syntax tree: statements write to a builder, expressions return Python-like values.</summary>
sealed partial class TemplateEvaluator
{
    enum Flow { Normal, Break, Continue }

    const int MaxDepth = 200;
    int _depth;

    public void Render(IReadOnlyList<Node> nodes, TemplateScope scope, TemplateText.Builder output)
    {
        if (RenderNodes(nodes, scope, output) != Flow.Normal)
            throw new TemplateRuntimeException("break or continue outside a for loop");
    }

    Flow RenderNodes(IReadOnlyList<Node> nodes, TemplateScope scope, TemplateText.Builder output)
    {
        foreach (var node in nodes)
        {
            var flow = RenderNode(node, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    Flow RenderNode(Node node, TemplateScope scope, TemplateText.Builder output)
    {
        switch (node)
        {
            case TextNode t:
                output.Append(t.Text);
                return Flow.Normal;
            case OutputNode o:
                output.Append(TemplateValues.ToText(Evaluate(o.Value, scope)));
                return Flow.Normal;
            case IfNode i:
                return RenderNodes(TemplateValues.Truthy(Evaluate(i.Condition, scope)) ? i.Then : i.Else, scope, output);
            case ForNode f:
                return RenderFor(f, scope, output);
            case SetNode s:
                Assign(s.Target, Evaluate(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockNode s:
                {
                    object? value = Capture(s.Body, scope);
                    foreach (var (name, args, kwargs) in s.Filters) value = ApplyFilter(name, value, args, kwargs, scope);
                    Assign(s.Target, value, scope);
                    return Flow.Normal;
                }
            case MacroNode m:
                scope.Set(m.Name, Macro(m.Name, m.Parameters, m.Body, scope));
                return Flow.Normal;
            case CallBlockNode c:
                {
                    var caller = Macro("caller", c.Parameters, c.Body, scope);
                    var call = (CallExpr)c.Call;
                    output.Append(TemplateValues.ToText(Call(call, scope, caller)));
                    return Flow.Normal;
                }
            case FilterBlockNode f:
                {
                    object? value = Capture(f.Body, scope);
                    foreach (var (name, args, kwargs) in f.Filters) value = ApplyFilter(name, value, args, kwargs, scope);
                    output.Append(TemplateValues.ToText(value));
                    return Flow.Normal;
                }
            case BlockNode b:
                return RenderNodes(b.Body, scope, output);
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            default:
                throw new TemplateRuntimeException($"unknown node {node.GetType().Name}");
        }
    }

    TemplateText Capture(IReadOnlyList<Node> body, TemplateScope scope)
    {
        var inner = new TemplateText.Builder();
        Render(body, scope, inner);
        return inner.Build();
    }

    Flow RenderFor(ForNode f, TemplateScope scope, TemplateText.Builder output)
    {
        var all = TemplateValues.Iterate(Evaluate(f.Iterable, scope));
        var loopScope = new TemplateScope(scope);
        IReadOnlyList<object?> items = all;
        if (f.Filter is not null)
        {
            // jinja2 filters before counting, so loop.index and loop.last see only the kept items.
            var kept = new List<object?>();
            foreach (var item in all)
            {
                Assign(f.Target, item, loopScope);
                if (TemplateValues.Truthy(Evaluate(f.Filter, loopScope))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0) return RenderNodes(f.Else, scope, output);
        var loop = new LoopInfo(items);
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            loopScope.Set("loop", loop);
            Assign(f.Target, items[i], loopScope);
            if (RenderNodes(f.Body, loopScope, output) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    void Assign(Expr target, object? value, TemplateScope scope)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                break;
            case AttributeExpr { Target: NameExpr owner } a:
                if (scope.Lookup(owner.Name) is not Namespace ns)
                    throw new TemplateRuntimeException($"cannot assign the attribute '{a.Name}' of '{owner.Name}': only a namespace() takes attributes");
                ns.Attributes[a.Name] = value;
                break;
            case TupleExpr t:
                var items = TemplateValues.Iterate(value);
                if (items.Count != t.Items.Count)
                    throw new TemplateRuntimeException($"cannot unpack {items.Count} values into {t.Items.Count} names");
                for (int i = 0; i < items.Count; i++) Assign(t.Items[i], items[i], scope);
                break;
            default:
                throw new TemplateRuntimeException("cannot assign to this expression");
        }
    }

    /// <summary>A macro as a function: parameters bound by position or name, defaults evaluated at the call, `caller` for call blocks.</summary>
    TemplateFunction Macro(string name, IReadOnlyList<(string Name, Expr? Default)> parameters, IReadOnlyList<Node> body, TemplateScope definition) =>
        (args, kwargs) =>
        {
            if (++_depth > MaxDepth) throw new TemplateRuntimeException($"macro '{name}' recurses deeper than {MaxDepth} calls");
            try
            {
                var scope = new TemplateScope(definition);
                var extra = new List<object?>(); // jinja2 passes surplus arguments as the tuple varargs
                for (int i = 0; i < args.Count; i++)
                {
                    if (i < parameters.Count) scope.Set(parameters[i].Name, args[i]);
                    else extra.Add(args[i]);
                }
                var extraKwargs = new TemplateDict();
                for (int i = 0; i < parameters.Count; i++)
                {
                    var p = parameters[i];
                    if (kwargs.TryGetValue(p.Name, out var v)) scope.Set(p.Name, v);
                    else if (i >= args.Count) scope.Set(p.Name, p.Default is null ? new Undefined(p.Name) : Evaluate(p.Default, scope));
                }
                foreach (var (key, v) in kwargs)
                {
                    if (key == "caller") scope.Set("caller", v);
                    else if (!parameters.Any(p => p.Name == key)) extraKwargs[new TemplateText(key)] = v;
                }
                scope.Set("varargs", extra.ToArray());
                scope.Set("kwargs", extraKwargs);
                return Capture(body, scope);
            }
            finally
            {
                _depth--;
            }
        };
}
