using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using NormSharp.Autograd;
using NormSharp.Errors;

namespace NormSharp.Layers;

/// <summary>
/// Finds a module's parts in its fields: modules, parameters, and arrays, lists or string-keyed
/// dictionaries of them. The fields to look at are worked out once per type; their values are read on
/// every call, so a field assigned later is still found.
/// </summary>
internal static class PartDiscovery
{
    private static readonly ConcurrentDictionary<Type, FieldSlot[]> Slots = new();

    /// <summary>The parts held by <paramref name="module"/>'s fields, with their state-dict names, in declaration order.</summary>
    public static IEnumerable<(string Name, object Value)> Find(Module module)
    {
        var found = new List<(string Name, object Value, string Field)>();
        foreach (var slot in Slots.GetOrAdd(module.GetType(), Discover))
        {
            object? value = slot.Field.GetValue(module);
            switch (value)
            {
                case null:
                    break;
                case Module m:
                    if (!ReferenceEquals(m, module)) found.Add((slot.Name, m, slot.Field.Name));
                    break;
                case Variable { IsParameter: true } p:
                    found.Add((slot.Name, p, slot.Field.Name));
                    break;
                case Variable:
                    break;
                case IDictionary dict:
                    foreach (DictionaryEntry e in dict)
                        if (e.Key is string key && IsPart(e.Value)) found.Add(($"{slot.Name}.{key}", e.Value!, slot.Field.Name));
                    break;
                case IEnumerable items:
                    int i = 0;
                    foreach (var item in items)
                    {
                        if (IsPart(item)) found.Add(($"{slot.Name}.{i.ToString(CultureInfo.InvariantCulture)}", item!, slot.Field.Name));
                        i++;
                    }
                    break;
            }
        }
        var byName = new Dictionary<string, (object Value, string Field)>();
        foreach (var (name, value, field) in found)
        {
            if (byName.TryGetValue(name, out var other))
            {
                if (ReferenceEquals(other.Value, value)) continue;
                throw new InvalidValueException(field,
                    $"{module.GetType().Name}: fields '{other.Field}' and '{field}' both hold a part named '{name}'; rename one, or name it with [StateName].");
            }
            byName.Add(name, (value, field));
            yield return (name, value);
        }
    }

    private static bool IsPart(object? o) => o is Module || o is Variable { IsParameter: true };

    private static FieldSlot[] Discover(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t is not null && t != typeof(Module) && t != typeof(object); t = t.BaseType) chain.Add(t);
        chain.Reverse();
        var slots = new List<FieldSlot>();
        foreach (var t in chain)
        {
            var fields = t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .OrderBy(f => f.MetadataToken);
            foreach (var f in fields)
            {
                if (!MayHoldParts(f.FieldType)) continue;
                var property = BackingProperty(t, f);
                if (Has<NotAPartAttribute>(f) || (property is not null && Has<NotAPartAttribute>(property))) continue;
                string name = (property is not null ? Named(property) : null) ?? Named(f) ?? SnakeCase(property?.Name ?? f.Name);
                slots.Add(new FieldSlot(f, name));
            }
        }
        return slots.ToArray();
    }

    /// <summary>Whether a field of this declared type can hold a module, a parameter, or a collection of them.</summary>
    private static bool MayHoldParts(Type t)
    {
        if (t == typeof(string) || t.IsValueType || t.IsPointer) return false;
        if (typeof(Module).IsAssignableFrom(t) || t == typeof(Variable)) return true;
        if (t == typeof(object)) return false;
        if (t.IsArray) return MayHoldItems(t.GetElementType()!);
        if (t.IsInterface && !t.IsGenericType) return !typeof(IEnumerable).IsAssignableFrom(t); // e.g. IRecurrentCell
        foreach (var i in t.IsInterface ? [t, .. t.GetInterfaces()] : t.GetInterfaces())
        {
            if (!i.IsGenericType) continue;
            var def = i.GetGenericTypeDefinition();
            var args = i.GetGenericArguments();
            if (def == typeof(IDictionary<,>) || def == typeof(IReadOnlyDictionary<,>)) return args[0] == typeof(string) && MayHoldItems(args[1]);
            if (def == typeof(IEnumerable<>)) return MayHoldItems(args[0]);
        }
        return false;
    }

    private static bool MayHoldItems(Type t) =>
        typeof(Module).IsAssignableFrom(t) || t == typeof(Variable) || (t.IsInterface && !typeof(IEnumerable).IsAssignableFrom(t)) || (t.IsAbstract && t.IsAssignableFrom(typeof(Module)));

    private static PropertyInfo? BackingProperty(Type t, FieldInfo f)
    {
        // An auto-property's field is called <Name>k__BackingField.
        if (!f.Name.StartsWith('<')) return null;
        int end = f.Name.IndexOf('>');
        return end > 1 ? t.GetProperty(f.Name[1..end], BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) : null;
    }

    private static bool Has<TAttribute>(MemberInfo m) where TAttribute : Attribute => m.GetCustomAttribute<TAttribute>() is not null;

    private static string? Named(MemberInfo m) => m.GetCustomAttribute<StateNameAttribute>()?.Name;

    /// <summary>PyTorch-style name of a C# member: <c>_inProj</c>, <c>InProj</c> → <c>in_proj</c>; <c>LNCell</c> → <c>ln_cell</c>; <c>Norm1</c> → <c>norm1</c>.</summary>
    internal static string SnakeCase(string name)
    {
        name = name.TrimStart('_');
        if (name.StartsWith("m_", StringComparison.Ordinal)) name = name[2..];
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                bool prevLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                bool acronymEnd = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if ((prevLowerOrDigit || acronymEnd) && sb.Length > 0 && sb[^1] != '_') sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private readonly record struct FieldSlot(FieldInfo Field, string Name);
}

/// <summary>Gives the part held by this field or property its state-dict name (instead of the one derived from the member's name).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class StateNameAttribute(string name) : Attribute
{
    /// <summary>The name in the state dict, e.g. <c>in_proj_weight</c>.</summary>
    public string Name { get; } = name;
}

/// <summary>Marks a field or property whose module or parameter is not a part of this module (a reference to a module owned elsewhere).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class NotAPartAttribute : Attribute;
