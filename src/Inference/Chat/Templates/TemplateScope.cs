namespace Service.Inference.Chat.Templates;

/// <summary>
/// Variables visible at one point of a template. As in jinja2, a for loop and a macro call open a
/// scope, so that `set` inside them does not change the variable outside (`namespace()` exists for that);
/// `if` opens none.
/// </summary>
public sealed class TemplateScope(TemplateScope? parent)
{
    readonly Dictionary<string, object?> _variables = [];
    readonly TemplateScope? _parent = parent;

    public object? Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope._parent)
            if (scope._variables.TryGetValue(name, out var value)) return value;
        return new Undefined(name);
    }

    public void Set(string name, object? value) => _variables[name] = value;
}

/// <summary>The `loop` variable of a for loop.</summary>
public sealed class LoopInfo(IReadOnlyList<object?> items)
{
    public int Index0 { get; set; }

    public object? Attribute(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("loop.previtem"),
        "nextitem" => Index0 + 1 < items.Count ? items[Index0 + 1] : new Undefined("loop.nextitem"),
        "cycle" => new TemplateFunction((args, _) =>
            args.Count == 0 ? throw new TemplateRuntimeException("loop.cycle needs at least one value") : args[Index0 % args.Count]),
        _ => new Undefined("loop." + name),
    };
}
