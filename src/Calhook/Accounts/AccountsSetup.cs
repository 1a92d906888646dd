using Calhook.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Accounts;

/// <summary>The accounts feature's services: Data Protection for secrets at rest, credentials per account.</summary>
internal static class AccountsSetup
{
    public static IServiceCollection AddCalhookAccounts(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("Calhook");
        // Keys live next to the data they protect, so a restart (or a second process on the same data) can read them.
        services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<CalhookOptions>, ILoggerFactory>((options, calhook, loggers) =>
                options.XmlRepository = new FileSystemXmlRepository(KeyDirectory(calhook.Value.DataDirectory), loggers));
        services.AddSingleton<SecretProtector>();
        services.AddSingleton<CredentialFactory>();
        services.AddSingleton<AccountCredentials>();
        services.AddSingleton<AccountLifecycle>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AccountsJsonContext.Default));
        return services;
    }

    /// <summary>
    /// The key ring's folder, readable by the service's user only: on Linux the keys themselves are stored unencrypted
    /// (Data Protection has no machine key store there), so the folder's mode is what keeps them private.
    /// </summary>
    private static DirectoryInfo KeyDirectory(string dataDirectory)
    {
        var path = Path.Combine(PrivateFiles.EnsureDirectory(dataDirectory), "keys");
        return OperatingSystem.IsWindows()
            ? Directory.CreateDirectory(path)
            : Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
