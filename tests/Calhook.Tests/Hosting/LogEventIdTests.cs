using System.Reflection;
using Calhook.Emulator;
using Calhook.Hosting;
using Calhook.PostgreSql;
using Microsoft.Extensions.Logging;

namespace Calhook.Tests.Hosting;

/// <summary>Log event ids are one table (docs/contributing.md): no two messages share an id, none is made up in place.</summary>
public sealed class LogEventIdTests
{
    private static readonly Assembly[] Assemblies =
        [typeof(LogEvents).Assembly, typeof(PostgresStore).Assembly, typeof(EmulatorServer).Assembly];

    private static List<(string Method, int Id)> LogMessages() =>
        [.. Assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .Select(x => ($"{x.Method.DeclaringType!.FullName}.{x.Method.Name}", x.Attribute!.EventId))];

    private static HashSet<int> TableIds(Type table) =>
        [.. table.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (int)f.GetRawConstantValue()!)];

    [Fact]
    public void Every_log_message_has_an_id_of_its_own()
    {
        var messages = LogMessages();
        Assert.True(messages.Count > 40, $"only {messages.Count} [LoggerMessage] methods found: is the reflection looking in the right place?");

        var shared = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();
        Assert.True(shared.Count == 0, "log messages share an event id:\n" + string.Join("\n", shared));
    }

    [Fact]
    public void Every_log_message_takes_its_id_from_the_table()
    {
        var emulatorTable = typeof(EmulatorServer).Assembly.GetType("Calhook.Emulator.EmulatorLogEvents", throwOnError: true)!;
        var table = TableIds(typeof(LogEvents));
        var emulator = TableIds(emulatorTable);

        Assert.Empty(table.Intersect(emulator));
        Assert.All(emulator, id => Assert.InRange(id, 9001, 9099));
        var outside = LogMessages().Where(m => !table.Contains(m.Id) && !emulator.Contains(m.Id)).Select(m => $"{m.Method} ({m.Id})").ToList();
        Assert.True(outside.Count == 0, "log messages whose event id is in no table (LogEvents, EmulatorLogEvents):\n" + string.Join("\n", outside));
    }

    [Fact]
    public void The_table_holds_no_id_twice()
    {
        var constants = typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToList();
        var twice = constants.GroupBy(f => (int)f.GetRawConstantValue()!).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(f => f.Name))}").ToList();
        Assert.True(twice.Count == 0, "LogEvents gives one id two names:\n" + string.Join("\n", twice));
    }
}
