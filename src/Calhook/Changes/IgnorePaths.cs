namespace Calhook.Changes;

/// <summary>
/// <c>ignorePaths</c> patterns over diff paths, shared by every consumer that filters (the stream, subscriptions).
/// <c>.</c> separates fields; a bracketed part (<c>[email=bob@example.com]</c>, <c>[0]</c>) is one list element whatever
/// it contains, dots inside included; <c>[*]</c> matches any list element; a trailing <c>.*</c> matches everything below
/// the path before it (not the path itself). Everything else matches literally. An update whose every diff path matches
/// some pattern is skipped; created and deleted changes never are. Pure and thread-safe.
/// </summary>
internal static class IgnorePaths
{
    /// <summary>True when <paramref name="change"/> is an update whose every diff path matches one of <paramref name="patterns"/>.</summary>
    public static bool Skips(Change change, IReadOnlyList<string>? patterns)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (patterns is not { Count: > 0 } || change.Type != ChangeTypes.Updated || change.Diff.Count == 0)
        {
            return false;
        }

        foreach (var field in change.Diff)
        {
            if (!patterns.Any(pattern => Matches(pattern, field.Path)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the diff path <paramref name="path"/> matches <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string path)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(path);
        var below = pattern.EndsWith(".*", StringComparison.Ordinal);
        var patternParts = Split(below ? pattern[..^2] : pattern);
        var pathParts = Split(path);
        if (below ? pathParts.Count <= patternParts.Count : pathParts.Count != patternParts.Count)
        {
            return false;
        }

        for (var i = 0; i < patternParts.Count; i++)
        {
            var (expected, actual) = (patternParts[i], pathParts[i]);
            if (expected == "[*]" ? !actual.StartsWith('[') : expected != actual)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Why <paramref name="pattern"/> is not a valid pattern, or null when it is.</summary>
    public static string? Problem(string? pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            return "a pattern must not be empty";
        }

        var body = pattern.EndsWith(".*", StringComparison.Ordinal) ? pattern[..^2] : pattern;
        if (body.Length == 0)
        {
            return $"'{pattern}' names no field before '.*'";
        }

        var depth = 0;
        foreach (var c in body)
        {
            depth += c == '[' ? 1 : c == ']' ? -1 : 0;
            if (depth is < 0 or > 1)
            {
                return $"'{pattern}' has unbalanced brackets";
            }
        }

        if (depth != 0)
        {
            return $"'{pattern}' has unbalanced brackets";
        }

        if (Split(body).Any(part => part.Length == 0 || (part.Contains('*', StringComparison.Ordinal) && part != "[*]")))
        {
            return $"'{pattern}' has an empty field or a '*' other than '[*]' or a trailing '.*'";
        }

        return null;
    }

    /// <summary>
    /// <c>attendees[email=a.b@c.d].responseStatus</c> → <c>attendees</c>, <c>[email=a.b@c.d]</c>, <c>responseStatus</c>:
    /// dots inside brackets do not separate.
    /// </summary>
    private static List<string> Split(string path)
    {
        var parts = new List<string>();
        var start = 0;
        var inBracket = false;
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (inBracket)
            {
                if (c == ']')
                {
                    parts.Add(path[start..(i + 1)]);
                    start = i + 1;
                    inBracket = false;
                }
            }
            else if (c == '[')
            {
                if (i > start)
                {
                    parts.Add(path[start..i]);
                }

                start = i;
                inBracket = true;
            }
            else if (c == '.')
            {
                // A dot right after a bracket only separates; elsewhere it ends a field name (possibly empty).
                if (i > start || (i > 0 && path[i - 1] != ']'))
                {
                    parts.Add(path[start..i]);
                }

                start = i + 1;
            }
        }

        if (start < path.Length || (path.Length > 0 && path[^1] == '.'))
        {
            parts.Add(path[start..]);
        }

        return parts;
    }
}
