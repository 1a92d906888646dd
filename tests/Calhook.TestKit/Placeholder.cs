internal static class Placeholder { }
