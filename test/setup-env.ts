// Every test process: the AWS SDK's notice that Node.js 20 support ends is noise here (the
// functions run Node.js 24 on Lambda; the tests run on this machine's Node.js). Child processes
// inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
