using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Calhook.PostgreSql;

/// <summary>
/// The Data Protection key ring in the <c>data_protection_keys</c> table, so every instance reads (and can decrypt with)
/// every key, and a restarted instance keeps reading what it protected before. Instances that create a key at the
/// same moment each add theirs; the ring then holds both, and both stay readable.
/// </summary>
/// <remarks>
/// The keys are stored as Data Protection writes them (unencrypted XML, as in the file system repository on Linux):
/// access to the database is access to the secrets, as it is for the data they protect.
/// </remarks>
internal sealed class PostgresXmlRepository(NpgsqlDataSource dataSource) : IXmlRepository
{
    // Data Protection calls these synchronously, rarely (start-up, key creation, a key ring refresh).
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = dataSource.OpenConnection();
        using var command = new NpgsqlCommand("SELECT xml FROM data_protection_keys ORDER BY name;", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        using var connection = dataSource.OpenConnection();
        using var command = new NpgsqlCommand("INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING;", connection);
        command.Parameters.AddWithValue("name", string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString() : friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}
