namespace Calhook.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Change_types_are_the_documented_strings() =>
        Assert.Equal("event.updated", Calhook.Changes.ChangeTypes.Updated);
}
