using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using NormSharp.Errors;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// The lower-case, hyphenated spelling of an option's enum values (<c>LnLstm</c> is <c>ln-lstm</c>,
/// <c>AdamW</c> is <c>adamw</c>), the same in configuration files, checkpoints and the command line.
/// </summary>
public static class Spelling
{
    /// <summary>Every value's spelling, in declaration order.</summary>
    public static IReadOnlyList<string> Names<TEnum>() where TEnum : struct, Enum => Cache<TEnum>.Names;

    /// <summary>The spelling of <paramref name="value"/>.</summary>
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum
    {
        int i = Array.IndexOf(Cache<TEnum>.Values, value);
        if (i < 0) throw new InvalidValueException(nameof(value), $"{typeof(TEnum).Name} has no value {value}.");
        return Cache<TEnum>.Names[i];
    }

    /// <summary>The value spelled <paramref name="text"/>; <paramref name="parameter"/> names the setting in the error.</summary>
    public static TEnum Parse<TEnum>(string text, string parameter) where TEnum : struct, Enum
    {
        int i = Array.IndexOf(Cache<TEnum>.Names, text);
        if (i < 0) throw new InvalidValueException(parameter, $"unknown {parameter} '{text}' (expected one of {string.Join("|", Cache<TEnum>.Names)})");
        return Cache<TEnum>.Values[i];
    }

    private static class Cache<TEnum> where TEnum : struct, Enum
    {
        public static readonly TEnum[] Values = Enum.GetValues<TEnum>();

        public static readonly string[] Names = Values.Select(v =>
        {
            string member = v.ToString();
            var attribute = typeof(TEnum).GetField(member)?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>();
            return attribute?.Name ?? JsonNamingPolicy.KebabCaseLower.ConvertName(member);
        }).ToArray();
    }
}

/// <summary>Writes and reads an enum as its <see cref="Spelling"/>.</summary>
public sealed class SpelledEnumConverter<TEnum> : JsonConverter<TEnum> where TEnum : struct, Enum
{
    /// <inheritdoc />
    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException($"expected a string for {typeof(TEnum).Name}");
        string text = reader.GetString()!;
        int i = Spelling.Names<TEnum>().ToList().IndexOf(text);
        if (i < 0) throw new JsonException($"unknown {typeof(TEnum).Name} '{text}' (expected one of {string.Join("|", Spelling.Names<TEnum>())})");
        return Enum.GetValues<TEnum>()[i];
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) => writer.WriteStringValue(Spelling.Of(value));
}
