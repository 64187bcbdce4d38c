using System.Security.Cryptography;
using System.Text;
using System.Xml;
using KeplerSim.Node.Http;

namespace KeplerSim.Node.S3;

/// <summary>The S3 listener's answer to a request Kestrel rejects itself (<see cref="KestrelRejections"/>).</summary>
internal sealed partial class S3Server
{
    private static readonly XmlWriterSettings RejectionXml = new() { Encoding = new UTF8Encoding(false) };

    /// <summary>
    /// S3's error XML for Kestrel's rejection: the status stays Kestrel's, the code is the S3 code for it
    /// (<c>InvalidURI</c> for a target over the limit, <c>RequestHeaderSectionTooLarge</c>, <c>RequestTimeout</c>,
    /// <c>MethodNotAllowed</c>, <c>EntityTooLarge</c>, otherwise <c>InvalidRequest</c>).
    /// </summary>
    internal static RejectionBody DescribeRejection(int status, string message)
    {
        var code = status switch
        {
            405 => "MethodNotAllowed",
            408 => "RequestTimeout",
            413 => "EntityTooLarge",
            414 => "InvalidURI",
            431 => "RequestHeaderSectionTooLarge",
            _ => "InvalidRequest",
        };
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, RejectionXml))
        {
            writer.WriteStartDocument();
            writer.WriteStartElement("Error", S3Xml.Namespace);
            writer.WriteElementString("Code", code);
            writer.WriteElementString("Message", message);
            writer.WriteElementString("RequestId", Convert.ToHexString(RandomNumberGenerator.GetBytes(8)));
            writer.WriteEndElement();
            writer.WriteEndDocument();
        }

        return new RejectionBody("application/xml", buffer.ToArray());
    }
}
