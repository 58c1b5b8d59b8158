using static Service.Inference.Chat.Templates.TemplateValues;

namespace Service.Inference.Chat.Templates;

/// <summary>jinja2's tests (`x is defined`, `x is string`, `n is divisibleby 3`, ...).</summary>
sealed partial class TemplateEvaluator
{
    static bool ApplyTest(string name, object? v, IReadOnlyList<object?> args)
    {
        object? Other() => args.Count > 0 ? args[0] : throw new TemplateRuntimeException($"the test '{name}' needs a value to compare with");
        switch (name)
        {
            case "defined": return v is not Undefined;
            case "undefined": return v is Undefined;
            case "none": return v is null;
            case "boolean": return v is bool;
            case "true": return v is true;
            case "false": return v is false;
            case "integer": return v is long;
            case "float": return v is double;
            case "number": return v is long or double or bool;
            case "string": return v is TemplateText;
            case "mapping": return v is TemplateDict;
            case "iterable": return v is TemplateText or List<object?> or object?[] or TemplateDict or Undefined;
            case "sequence": return v is TemplateText or List<object?> or object?[] or TemplateDict;
            case "callable": return v is TemplateFunction;
            case "odd": return v is long o ? o % 2 != 0 : throw NotInteger(name, v);
            case "even": return v is long e ? e % 2 == 0 : throw NotInteger(name, v);
            case "divisibleby": return v is long n && Other() is long d ? d != 0 && n % d == 0 : throw NotInteger(name, v);
            case "eq" or "equalto" or "==": return TemplateValues.Equals(v, Other());
            case "ne" or "!=": return !TemplateValues.Equals(v, Other());
            case "lt" or "lessthan" or "<": return TemplateValues.Compare(v, Other()) < 0;
            case "le" or "<=": return TemplateValues.Compare(v, Other()) <= 0;
            case "gt" or "greaterthan" or ">": return TemplateValues.Compare(v, Other()) > 0;
            case "ge" or ">=": return TemplateValues.Compare(v, Other()) >= 0;
            case "in": return Contains(Other(), v);
            case "sameas": return ReferenceEquals(v, Other()) || (v is null or bool && TemplateValues.Equals(v, Other()) && v?.GetType() == Other()?.GetType());
            case "lower": return v is TemplateText l && l.Text == l.Text.ToLowerInvariant();
            case "upper": return v is TemplateText u && u.Text == u.Text.ToUpperInvariant();
            case "escaped": return false;
            default: throw new TemplateRuntimeException($"no test named '{name}'");
        }
    }

    static TemplateRuntimeException NotInteger(string test, object? v) =>
        v is Undefined u ? u.Error() : new($"the test '{test}' needs an integer, not {TypeName(v)}");
}
