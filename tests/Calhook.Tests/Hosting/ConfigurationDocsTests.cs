using System.Reflection;
using System.Text.RegularExpressions;
using Calhook.Hosting;

namespace Calhook.Tests.Hosting;

/// <summary>
/// docs/configuration.md lists every setting: each settable property of every options class (a class with a
/// <c>SectionName</c>), nested settings classes included, appears in the table under its section's heading.
/// </summary>
public sealed partial class ConfigurationDocsTests
{
    [Fact]
    public void Every_setting_of_every_options_class_is_in_the_configuration_docs()
    {
        var documented = DocumentedSettings(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md")));
        var settings = typeof(CalhookOptions).Assembly.GetTypes()
            .Select(t => (Type: t, Section: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(t => t.Section is not null)
            .SelectMany(t => Settings(t.Type, t.Section!))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();

        Assert.NotEmpty(settings);
        Assert.Contains("Calhook:Google:ClientId", settings);
        var missing = settings.Where(s => !documented.Contains(s)).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, "Settings missing from docs/configuration.md (add a row under their section):\n" + string.Join("\n", missing));
    }

    /// <summary>Every "## `Section`" heading's table rows: the backticked names of the first cell, as Section:Name.</summary>
    private static HashSet<string> DocumentedSettings(string markdown)
    {
        var documented = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string? section = null;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                section = Heading().Match(line) is { Success: true } heading ? heading.Groups[1].Value : null;
            }
            else if (section is not null && line.StartsWith('|'))
            {
                var firstCell = line.Split('|', StringSplitOptions.TrimEntries)[1];
                foreach (Match name in Code().Matches(firstCell))
                {
                    documented.Add(section + ":" + name.Groups[1].Value);
                }
            }
        }

        return documented;
    }

    private static IEnumerable<string> Settings(Type options, string prefix)
    {
        foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            var type = property.PropertyType;
            var key = prefix + ":" + property.Name;
            if (type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("Calhook", StringComparison.Ordinal) == true)
            {
                foreach (var nested in Settings(type, key))
                {
                    yield return nested;
                }
            }
            else
            {
                yield return key;
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Calhook.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Calhook.slnx) is not above the test's folder.");
    }

    [GeneratedRegex(@"^##\s+`([^`]+)`")]
    private static partial Regex Heading();

    [GeneratedRegex("`([A-Za-z][A-Za-z0-9:]*)`")]
    private static partial Regex Code();
}
