using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Hosting;

/// <summary>
/// The effective admin API key: <c>Calhook:ApiKey</c> when set, otherwise one generated on first start into
/// <c>{DataDirectory}/api-key</c> (mode 600) and read from there after. Thread-safe; the file is touched once.
/// </summary>
internal sealed partial class ApiKeyProvider
{
    public const string FileName = "api-key";
    private const string Prefix = "chk_";

    private readonly Lazy<(string Key, byte[] Hash)> _key;

    public ApiKeyProvider(IOptions<CalhookOptions> options, ILogger<ApiKeyProvider> logger)
    {
        var settings = options.Value;
        _key = new Lazy<(string, byte[])>(() =>
        {
            var key = string.IsNullOrEmpty(settings.ApiKey) ? LoadOrCreate(settings.DataDirectory, logger) : settings.ApiKey;
            return (key, Hash(key));
        });
    }

    /// <summary>
    /// True when this process generated the key (the key file did not exist): the one time a command may show it. Read
    /// after <see cref="Key"/>.
    /// </summary>
    public bool Generated { get; private set; }

    /// <summary>The key file's full path when the key comes from the data directory; null when it is configured.</summary>
    public string? FilePath { get; private set; }

    /// <summary>The key clients must send as <c>Authorization: Bearer …</c>. Loads or creates the key file on first use.</summary>
    public string Key => _key.Value.Key;

    /// <summary>Compares in constant time: both sides are hashed first so even the length does not leak.</summary>
    public bool Matches(string? candidate) =>
        candidate is not null && CryptographicOperations.FixedTimeEquals(Hash(candidate), _key.Value.Hash);

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));

    private string LoadOrCreate(string dataDirectory, ILogger logger)
    {
        PrivateFiles.EnsureDirectory(dataDirectory);
        var path = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        FilePath = path;
        if (TryRead(path) is { } existing)
        {
            Log.UsingStoredKey(logger, path);
            return existing;
        }

        var key = Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        try
        {
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            // No byte-order mark: shell users read the key with $(cat api-key).
            using (var writer = new StreamWriter(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), create))
            {
                writer.Write(key);
            }

            Log.GeneratedKey(logger, path);
            Generated = true;
            return key;
        }
        catch (IOException) when (TryRead(path) is { } raced)
        {
            // Another process created it first: theirs wins, so both use one key.
            Log.UsingStoredKey(logger, path);
            return raced;
        }
    }

    private static string? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var key = File.ReadAllText(path).Trim();
        return key.Length >= CalhookOptionsValidator.MinimumApiKeyLength
            ? key
            : throw new InvalidOperationException(
                $"The API key file {path} holds no usable key; delete it to generate a new one, or set {CalhookOptions.SectionName}:ApiKey.");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.ApiKeyGenerated, Level = LogLevel.Warning, Message = "Generated an API key into {Path}; admin requests must send it as a Bearer token")]
        public static partial void GeneratedKey(ILogger logger, string path);

        [LoggerMessage(EventId = LogEvents.ApiKeyLoaded, Level = LogLevel.Information, Message = "Using the API key stored in {Path}")]
        public static partial void UsingStoredKey(ILogger logger, string path);
    }
}
